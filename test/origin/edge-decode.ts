import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import decodeJpegWith, { init as initJpeg } from '@jsquash/jpeg/decode.js';
import { decode as decodePngWith, init as initPng } from '@jsquash/png/decode.js';
import decodeWebpWith, { init as initWebp } from '@jsquash/webp/decode.js';
import '../../edge/image/image-data-shim.ts';
import { applyOrientation } from '../../edge/image/orient.ts';
import { probeImage } from '../../edge/image/probe.ts';
import type { RgbImage } from '../../shared/preprocess/spec.ts';

// The edge's decode path, run in Node: the edge's own header probe and EXIF orientation code, and the same
// jsquash WASM codecs the Worker uses. Only the codec start-up differs: workerd hands them modules that
// wrangler compiled, here they are compiled from the same .wasm files (edge/image/codecs.ts imports the
// .wasm files directly, which only workerd can load).

const require = createRequire(import.meta.url);
type InitWithModule = (module: WebAssembly.Module) => Promise<unknown>;
type Pixels = { width: number; height: number; data: Uint8ClampedArray };

// Node's type library declares WebAssembly's types but not the global value; it exists at run time.
const wasm = (
  globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }
).WebAssembly;
const compile = async (specifier: string) => wasm.compile(await readFile(require.resolve(specifier)));

let ready: Promise<unknown> | undefined;
function initCodecs(): Promise<unknown> {
  ready ??= Promise.all([
    compile('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm').then((m) =>
      (initJpeg as unknown as InitWithModule)(m),
    ),
    compile('@jsquash/png/codec/pkg/squoosh_png_bg.wasm').then((m) =>
      (initPng as unknown as InitWithModule)(m),
    ),
    compile('@jsquash/webp/codec/dec/webp_dec.wasm').then((m) => (initWebp as unknown as InitWithModule)(m)),
  ]);
  return ready;
}

export async function edgeDecode(bytes: Uint8Array): Promise<RgbImage> {
  await initCodecs();
  const probe = probeImage(bytes);
  const buffer = bytes.slice().buffer as ArrayBuffer;
  const decoders = {
    'image/jpeg': () => decodeJpegWith(buffer),
    'image/png': () => decodePngWith(buffer),
    'image/webp': () => decodeWebpWith(buffer),
  } as const;
  const pixels = (await decoders[probe.type]()) as unknown as Pixels;
  const data = new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);
  return applyOrientation(
    { width: pixels.width, height: pixels.height, channels: 4, data },
    probe.orientation,
  );
}
