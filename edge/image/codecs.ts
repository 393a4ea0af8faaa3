/// <reference path="./wasm-modules.d.ts" />
import jpegWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import decodeJpegWith, { init as initJpeg } from '@jsquash/jpeg/decode.js';
import pngWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import { decode as decodePngWith, init as initPng } from '@jsquash/png/decode.js';
import webpWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import decodeWebpWith, { init as initWebp } from '@jsquash/webp/decode.js';
import './image-data-shim.ts';
import type { ImageType } from '../../shared/image/sniff.ts';

// WASM builds of libjpeg-turbo (MozJPEG), the Rust png crate and libwebp, chosen by measurement in workerd
// (docs/benchmarks.md, "Image decoding in workerd"). Each is instantiated on first use from the module
// wrangler compiled at deploy time.

/** What every codec returns: 8-bit RGBA, row-major. */
export interface RgbaPixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

type Decoder = (bytes: Uint8Array) => Promise<RgbaPixels>;

function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}

let jpegReady: Promise<void> | undefined;
let pngReady: Promise<unknown> | undefined;
let webpReady: Promise<void> | undefined;

// The init functions accept a WebAssembly.Module at run time; their typings only mention options.
type InitWithModule = (module: WebAssembly.Module) => Promise<unknown>;

const DECODERS: Record<ImageType, Decoder> = {
  'image/jpeg': async (bytes) => {
    jpegReady ??= (initJpeg as unknown as InitWithModule)(jpegWasm).then(() => undefined);
    await jpegReady;
    return (await decodeJpegWith(exactBuffer(bytes))) as RgbaPixels;
  },
  'image/png': async (bytes) => {
    pngReady ??= (initPng as unknown as InitWithModule)(pngWasm);
    await pngReady;
    return (await decodePngWith(exactBuffer(bytes))) as RgbaPixels;
  },
  'image/webp': async (bytes) => {
    webpReady ??= (initWebp as unknown as InitWithModule)(webpWasm).then(() => undefined);
    await webpReady;
    return (await decodeWebpWith(exactBuffer(bytes))) as RgbaPixels;
  },
};

/**
 * A WASM heap never shrinks: after a large image the codec would keep its grown memory (4 bytes per pixel)
 * for the isolate's lifetime, next to the model's heap. Past this size the instance is replaced so that
 * memory can be collected; a fresh one costs a fraction of a millisecond (the module is already compiled).
 */
const RESET_ABOVE_PIXELS = 2_000_000;

function replaceInstance(type: ImageType): void {
  // Initialising again is what releases the old instance: jsquash holds it until then.
  // The PNG glue (wasm-bindgen) keeps its instance in a module variable that cannot be replaced.
  if (type === 'image/jpeg')
    jpegReady = (initJpeg as unknown as InitWithModule)(jpegWasm).then(() => undefined);
  if (type === 'image/webp')
    webpReady = (initWebp as unknown as InitWithModule)(webpWasm).then(() => undefined);
}

/** Decodes to RGBA. After a failure the instance is replaced too: an aborted WASM instance is unusable. */
export async function decodeRgba(type: ImageType, bytes: Uint8Array): Promise<RgbaPixels> {
  try {
    const pixels = await DECODERS[type](bytes);
    if (pixels.width * pixels.height > RESET_ABOVE_PIXELS) replaceInstance(type);
    return pixels;
  } catch (error) {
    replaceInstance(type);
    throw error;
  }
}
