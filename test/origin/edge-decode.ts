import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { decode as decodePngWith, init as initPng } from '@jsquash/png/decode.js';
import decodeWebpWith, { init as initWebp } from '@jsquash/webp/decode.js';
import '../../edge/image/image-data-shim.ts';
import { planDecode } from '../../edge/image/decode-plan.ts';
import { decodeMinSideFor } from '../../edge/image/edge-limits.ts';
import { applyOrientation } from '../../edge/image/orient.ts';
import { type ImageProbe, probeImage } from '../../edge/image/probe.ts';
import { decodeInHeap, instantiateTurbo } from '../../edge/image/turbo-decode.ts';
import { REPO_ROOT } from '../../infra/models/build.ts';
import type { RgbImage } from '../../shared/preprocess/spec.ts';

// The edge's decode path, run in Node: the edge's own header probe, decode plan and EXIF orientation code,
// and the same WASM codecs the Worker uses: TurboJPEG (edge/image/jpeg-turbo.wasm, decoded at the scale the
// edge plans for B0, through the same turbo-decode.ts steps), jsquash's PNG and WebP. Only the codec
// start-up differs: workerd hands them modules that wrangler compiled, here they are compiled from the same
// .wasm files (edge/image/codecs.ts imports the .wasm files directly, which only workerd can load).

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
    compile('@jsquash/png/codec/pkg/squoosh_png_bg.wasm').then((m) =>
      (initPng as unknown as InitWithModule)(m),
    ),
    compile('@jsquash/webp/codec/dec/webp_dec.wasm').then((m) => (initWebp as unknown as InitWithModule)(m)),
  ]);
  return ready;
}

let turboModule: WebAssembly.Module | undefined;

/** A JPEG as the Worker decodes it for B0: planned scale, TurboJPEG, packed RGB. */
function decodeJpegAsEdge(bytes: Uint8Array, probe: ImageProbe): RgbImage {
  const api = (
    globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => WebAssembly.Module } }
  ).WebAssembly;
  turboModule ??= new api.Module(readFileSync(path.join(REPO_ROOT, 'edge/image/jpeg-turbo.wasm')));
  const tj = instantiateTurbo(turboModule);
  const src = tj.malloc(bytes.length);
  new Uint8Array(tj.memory.buffer, src, bytes.length).set(bytes);
  const plan = planDecode(probe, decodeMinSideFor('efficientnet-b0'));
  const copy = ({ width, height, data }: { width: number; height: number; data: Uint8Array }): RgbImage => ({
    width,
    height,
    channels: 3,
    data: data.slice(),
  });
  return decodeInHeap(tj, src, bytes.length, probe, plan.scaleEighths, copy, plan.planar);
}

export async function edgeDecode(bytes: Uint8Array): Promise<RgbImage> {
  await initCodecs();
  const probe = probeImage(bytes);
  if (probe.type === 'image/jpeg') return applyOrientation(decodeJpegAsEdge(bytes, probe), probe.orientation);
  const buffer = bytes.slice().buffer as ArrayBuffer;
  const decoders = {
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
