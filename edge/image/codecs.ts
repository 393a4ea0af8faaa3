/// <reference path="./wasm-modules.d.ts" />
import jpegWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import decodeJpegWith, { init as initJpeg } from '@jsquash/jpeg/decode.js';
import pngWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import { decode as decodePngWith, init as initPng } from '@jsquash/png/decode.js';
import webpWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import decodeWebpWith, { init as initWebp } from '@jsquash/webp/decode.js';
import type { ImageType } from './sniff.ts';

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

// jsquash's emscripten glue builds its result with `new ImageData(...)`; workerd has no ImageData.
const scope = globalThis as { ImageData?: unknown };
scope.ImageData ??= class {
  constructor(
    readonly data: Uint8ClampedArray,
    readonly width: number,
    readonly height: number,
  ) {}
};

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

/** Decodes to RGBA; a failure leaves the codec re-initialised, since an aborted WASM instance is unusable. */
export async function decodeRgba(type: ImageType, bytes: Uint8Array): Promise<RgbaPixels> {
  try {
    return await DECODERS[type](bytes);
  } catch (error) {
    if (type === 'image/jpeg') jpegReady = undefined;
    if (type === 'image/webp') webpReady = undefined;
    throw error;
  }
}
