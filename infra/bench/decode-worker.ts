import { decode as decodeFastPng } from 'fast-png';
import jpegJs from 'jpeg-js';
import { decodeRgba } from '../../edge/image/codecs.ts';
import { decodeImage } from '../../edge/image/decode.ts';
import { probeImage } from '../../edge/image/probe.ts';
import { preprocess } from '../../shared/preprocess/index.ts';

// Benchmark worker: decodes the request body `n` times with the named candidate and answers with a
// checksum, so the caller can time whole requests from outside (workerd's clocks do not advance while
// JavaScript runs, so timing inside the worker would read zero).

type Candidate = (bytes: Uint8Array) => Promise<{ width: number; height: number; data: ArrayLike<number> }>;

const CANDIDATES: Record<string, Candidate> = {
  noop: async (bytes) => ({ width: 0, height: 0, data: bytes.subarray(0, 1) }),
  'wasm-jpeg': (bytes) => decodeRgba('image/jpeg', bytes),
  'wasm-png': (bytes) => decodeRgba('image/png', bytes),
  'wasm-webp': (bytes) => decodeRgba('image/webp', bytes),
  'jpeg-js': async (bytes) =>
    jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 }),
  'fast-png': async (bytes) => {
    const png = decodeFastPng(bytes);
    return { width: png.width, height: png.height, data: png.data };
  },
  // The production path: probe, decode, orient, then B0's preprocessing (resize 256, crop 224, bicubic).
  pipeline: async (bytes) => {
    const image = await decodeImage(bytes, probeImage(bytes));
    const tensor = preprocess(image, {
      cropSize: 224,
      resizeShorterSide: 256,
      interpolation: 'bicubic',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    return { width: image.width, height: image.height, data: new Uint8Array(tensor.buffer, 0, 16) };
  },
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const candidate = CANDIDATES[url.searchParams.get('codec') ?? ''];
    if (!candidate) return new Response('unknown codec', { status: 400 });
    const repeat = Number(url.searchParams.get('n') ?? '1');
    const bytes = new Uint8Array(await request.arrayBuffer());
    let checksum = 0;
    let size = '';
    for (let i = 0; i < repeat; i++) {
      const out = await candidate(bytes);
      size = `${out.width}x${out.height}`;
      checksum = (checksum + (out.data[(out.data.length >> 1) + 1] ?? 0)) | 0;
    }
    return Response.json({ size, checksum });
  },
};
