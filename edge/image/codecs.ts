/// <reference path="./wasm-modules.d.ts" />
import webpWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import decodeWebpWith, { init as initWebp } from '@jsquash/webp/decode.js';
import './image-data-shim.ts';
import { RESET_ABOVE_HEAP_BYTES } from './codec-instance.ts';
import { decodeJpegScaled } from './jpeg-turbo.ts';
import { decodePngRgba } from './png-codec.ts';

// WASM builds of libjpeg-turbo (TurboJPEG, for its DCT scaling), the Rust png crate and libwebp
// (docs/benchmarks.md, "Image decoding in workerd"). Each is instantiated from the module wrangler
// compiled at deploy time, and replaced after a failure or a large image (codec-instance.ts).

/** What the codecs return: 8-bit pixels, row-major, RGBA (4 channels) or packed RGB (3). */
export interface DecodedPixels {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

interface Size {
  width: number;
  height: number;
}

function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}

let webpReady: Promise<void> | undefined;
// The init function accepts a WebAssembly.Module at run time; its typings only mention options.
type InitWithModule = (module: WebAssembly.Module) => Promise<unknown>;
const freshWebp = () => (initWebp as unknown as InitWithModule)(webpWasm).then(() => undefined);

/**
 * JPEG at a reduced scale: the header's size times `plan.scaleEighths`/8 (rounded up), with what the decode
 * is planned to allocate in the codec's heap where known. `orient` turns the pixels upright straight from
 * the codec's heap (it must copy; it gets a view that is reused after).
 */
export function decodeJpeg(
  bytes: Uint8Array,
  header: Size,
  plan: { scaleEighths: number; heapBytes?: number; planar?: boolean },
  orient: (pixels: DecodedPixels) => DecodedPixels,
): DecodedPixels {
  return decodeJpegScaled(
    bytes,
    header,
    plan.scaleEighths,
    (pixels) => orient({ ...pixels, channels: 3 }),
    plan.heapBytes,
    plan.planar,
  );
}

export function decodePng(bytes: Uint8Array, header: Size): DecodedPixels {
  const { width, height, data } = decodePngRgba(bytes, header);
  return { width, height, channels: 4, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * libwebp via jsquash's emscripten glue; initialising again is what releases the old instance, so it is
 * re-initialised after a failure or a large image.
 */
export async function decodeWebp(bytes: Uint8Array): Promise<DecodedPixels> {
  webpReady ??= freshWebp();
  await webpReady;
  try {
    const { width, height, data } = (await decodeWebpWith(exactBuffer(bytes))) as {
      width: number;
      height: number;
      data: Uint8ClampedArray;
    };
    if (width * height * 4 > RESET_ABOVE_HEAP_BYTES) webpReady = freshWebp();
    return {
      width,
      height,
      channels: 4,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (error) {
    webpReady = freshWebp();
    throw error;
  }
}
