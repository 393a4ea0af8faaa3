import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  decodeRgb,
  decodeViaPlanes,
  instantiateTurbo,
  TJSAMP_420,
  TJSAMP_444,
  type TurboExports,
} from '../../edge/image/turbo-decode.ts';
import { REPO_ROOT } from '../../infra/models/build.ts';

// The edge's planar JPEG path (YCbCr planes from TurboJPEG, then edge/image/jpeg-codec/ycc-rgb.c in SIMD)
// against libjpeg-turbo's own RGB output, in the same module. Where libjpeg upsamples the way ycc-rgb.c
// does (4:4:4 at any scale, 4:2:0 at full size) they must agree byte for byte; at 5/8 and 6/8 libjpeg
// enlarges 4:2:0 chroma with a larger IDCT instead, so there only chroma-sized differences are allowed.

const wasmApi = (
  globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => WebAssembly.Module } }
).WebAssembly;
const module = new wasmApi.Module(readFileSync(path.join(REPO_ROOT, 'edge/image/jpeg-turbo.wasm')));

/** Colour fields with edges and seeded noise, so both chroma planes carry detail down to single pixels. */
function pattern(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  let state = seed;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      const i = (y * width + x) * 3;
      const block = ((x >> 4) + (y >> 4)) & 1 ? 60 : 0;
      data[i] = (128 + 120 * Math.sin(x / 7 + seed) + (state % 24)) & 0xff;
      data[i + 1] = (block + 100 + 90 * Math.cos(y / 5)) & 0xff;
      data[i + 2] = ((x * 255) / width + (state % 16) - block) & 0xff;
    }
  return data;
}

/** Smooth colour fields with seeded grey noise: chroma that varies as a photo's does, luma detail. */
function smoothPattern(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  let state = seed;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      const noise = (state % 32) - 16;
      const i = (y * width + x) * 3;
      data[i] = Math.max(0, Math.min(255, 128 + 100 * Math.sin(x / 23 + seed) + noise));
      data[i + 1] = Math.max(0, Math.min(255, 128 + 90 * Math.cos(y / 19) + noise));
      data[i + 2] = Math.max(0, Math.min(255, (x * 255) / width + noise));
    }
  return data;
}

async function jpeg(
  width: number,
  height: number,
  seed: number,
  subsampling: '4:2:0' | '4:4:4',
  draw = pattern,
) {
  return new Uint8Array(
    await sharp(draw(width, height, seed), { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 70 + (seed % 3) * 10, chromaSubsampling: subsampling })
      .toBuffer(),
  );
}

interface Comparison {
  subsampling: number;
  differing: number;
  maxDiff: number;
  meanDiff: number;
}

/** Decodes `bytes` at `eighths`/8 both ways in one instance and compares the RGB. */
function compare(tj: TurboExports, bytes: Uint8Array, eighths: number): Comparison {
  const src = tj.malloc(bytes.length);
  new Uint8Array(tj.memory.buffer, src, bytes.length).set(bytes);
  const info = tj.malloc(16);
  const handle = tj.tjInitDecompress();
  expect(tj.tjDecompressHeader3(handle, src, bytes.length, info, info + 4, info + 8, info + 12)).toBe(0);
  const [width, height, subsampling] = [...new Int32Array(tj.memory.buffer, info, 3)] as [
    number,
    number,
    number,
  ];
  const out = { width: Math.ceil((width * eighths) / 8), height: Math.ceil((height * eighths) / 8) };
  const libjpeg = decodeRgb(tj, handle, src, bytes.length, out);
  const planar = decodeViaPlanes(tj, handle, src, bytes.length, out, subsampling);
  const a = new Uint8Array(tj.memory.buffer, libjpeg, out.width * out.height * 3);
  const b = new Uint8Array(tj.memory.buffer, planar, out.width * out.height * 3);
  let differing = 0;
  let maxDiff = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (d) differing++;
    if (d > maxDiff) maxDiff = d;
    sum += d;
  }
  for (const pointer of [libjpeg, planar, info, src]) tj.free(pointer);
  tj.tjDestroy(handle);
  return { subsampling, differing, maxDiff, meanDiff: sum / a.length };
}

/** Seeded sizes: tiny (chroma 1-2 samples wide), odd, and a few hundred pixels. */
function sizes(count: number): [number, number][] {
  let state = 99;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const fixed: [number, number][] = [
    [1, 1],
    [2, 3],
    [3, 2],
    [4, 4],
    [5, 17],
    [16, 16],
    [17, 15],
  ];
  return [
    ...fixed,
    ...Array.from({ length: count }, () => [17 + next(500), 17 + next(400)] as [number, number]),
  ];
}

describe('the TurboJPEG module (edge/image/jpeg-turbo.wasm)', () => {
  it('starts with a small memory: every JPEG upload gets an instance of its own', () => {
    // Emscripten's default is 16 MiB, and V8 accounts a memory at its full length (build-jpeg.sh).
    expect(instantiateTurbo(module).memory.buffer.byteLength).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('planar JPEG decode (TurboJPEG planes + ycc-rgb.c)', () => {
  it('equals libjpeg-turbo byte for byte on 4:4:4 at every scale and on 4:2:0 at full size', async () => {
    const tj = instantiateTurbo(module);
    let checked = 0;
    for (const [i, [w, h]] of sizes(14).entries()) {
      for (const subsampling of ['4:4:4', '4:2:0'] as const) {
        const bytes = await jpeg(w, h, i, subsampling);
        for (const eighths of subsampling === '4:4:4' ? [5, 6, 8] : [8]) {
          const result = compare(tj, bytes, eighths);
          const expected = subsampling === '4:4:4' || w * h === 1 ? TJSAMP_444 : TJSAMP_420;
          if (w > 1 || h > 1) expect(result.subsampling).toBe(expected);
          expect({ size: `${w}x${h}`, subsampling, eighths, differing: result.differing }).toEqual({
            size: `${w}x${h}`,
            subsampling,
            eighths,
            differing: 0,
          });
          checked++;
        }
      }
    }
    expect(checked).toBe(21 * 4);
  });

  it('stays within chroma-sized differences of libjpeg-turbo on 4:2:0 at 5/8 and 6/8', async () => {
    const tj = instantiateTurbo(module);
    let compared = 0;
    for (const [i, [w, h]] of sizes(10).entries()) {
      if (w < 16 || h < 16) continue;
      const bytes = await jpeg(w, h, i, '4:2:0', smoothPattern);
      for (const eighths of [5, 6]) {
        const result = compare(tj, bytes, eighths);
        // Measured on these images: max 4-9, mean 0.40-0.99 (real photos: mean 0.12-1.03, max 5-30).
        expect(result.maxDiff, `${w}x${h} at ${eighths}/8`).toBeLessThanOrEqual(16);
        expect(result.meanDiff, `${w}x${h} at ${eighths}/8`).toBeLessThanOrEqual(1.5);
        expect(result.differing, `${w}x${h} at ${eighths}/8`).toBeGreaterThan(0);
        compared++;
      }
    }
    expect(compared).toBe(22);
  });
});
