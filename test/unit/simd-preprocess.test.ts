import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { simdPreprocessor } from '../../edge/preprocess/simd-preprocess.ts';
import { assembleResizeWat, RESIZE_WASM } from '../../infra/wasm/resize-simd.ts';
import { preprocessFor } from '../../shared/catalog/models.ts';
import {
  type Interpolation,
  type PreprocessSpec,
  preprocess,
  type RgbImage,
  resizeWindow,
  type Window,
} from '../../shared/preprocess/index.ts';

// The edge's WebAssembly SIMD resize must give exactly the bytes of shared/preprocess's resizeWindow
// (tolerance: none) on every shape the reference handles.

const wasmBytes = readFileSync(RESIZE_WASM);
const edge = simdPreprocessor(new WebAssembly.Module(wasmBytes));
const simd = edge.resizeWindow;

/** Seeded xorshift32: the same cases every run. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function image(rand: () => number, width: number, height: number, channels: 3 | 4): RgbImage {
  const data = new Uint8Array(width * height * channels);
  // Noise with saturated runs: bicubic overshoots past 0 and 255 there, which exercises the clip.
  for (let i = 0; i < data.length; i++) {
    const r = rand();
    data[i] = r < 0.25 ? 0 : r < 0.5 ? 255 : Math.floor(rand() * 256);
  }
  return { width, height, channels, data };
}

interface Case {
  image: RgbImage;
  outWidth: number;
  outHeight: number;
  window: Window;
  interpolation: Interpolation;
}

function randomCase(rand: () => number, maxSide: number): Case {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const side = () => (rand() < 0.15 ? 1 : int(1, maxSide));
  const width = side();
  const height = side();
  // Down, up or unchanged, per axis.
  const out = (n: number) => {
    const r = rand();
    return r < 0.2 ? n : r < 0.4 ? int(n, 3 * n + 2) : int(1, n);
  };
  const outWidth = out(width);
  const outHeight = out(height);
  // The whole output, a window touching its edges, or one inside it.
  const span = (n: number): [number, number] => {
    const r = rand();
    if (r < 0.25) return [0, n];
    const length = int(1, n);
    if (r < 0.5) return [0, length];
    if (r < 0.75) return [n - length, length];
    return [int(0, n - length), length];
  };
  const [left, w] = span(outWidth);
  const [top, h] = span(outHeight);
  return {
    image: image(rand, width, height, rand() < 0.7 ? 3 : 4),
    outWidth,
    outHeight,
    window: { left, top, width: w, height: h },
    interpolation: rand() < 0.5 ? 'bicubic' : 'bilinear',
  };
}

function expectSameBytes(c: Case): void {
  const expected = resizeWindow(c.image, c.outWidth, c.outHeight, c.window, c.interpolation);
  const actual = simd(c.image, c.outWidth, c.outHeight, c.window, c.interpolation);
  const label = `${c.image.width}x${c.image.height}x${c.image.channels} -> ${c.outWidth}x${c.outHeight} ${JSON.stringify(c.window)} ${c.interpolation}`;
  expect(actual.length, label).toBe(expected.length);
  const first = actual.findIndex((v, i) => v !== expected[i]);
  expect(first, `${label}: first differing byte`).toBe(-1);
}

function expectSameTensor(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  expect(
    actual.findIndex((v, i) => !Object.is(v, expected[i])),
    'first differing value',
  ).toBe(-1);
}

describe('WebAssembly SIMD resize', () => {
  it('is the binary that resize-simd.wat assembles to (npm run build:wasm)', async () => {
    expect(Buffer.from(await assembleResizeWat()).equals(wasmBytes)).toBe(true);
  });

  it('equals resizeWindow on 1500 random small cases', () => {
    const rand = random(9);
    for (let i = 0; i < 1500; i++) expectSameBytes(randomCase(rand, 40));
  });

  it('equals resizeWindow on 60 random cases up to 400 px', () => {
    const rand = random(20261130);
    for (let i = 0; i < 60; i++) expectSameBytes(randomCase(rand, 400));
  });

  it('equals resizeWindow on the 1-px and same-size edge cases', () => {
    const rand = random(3);
    for (const interpolation of ['bilinear', 'bicubic'] as const) {
      for (const channels of [3, 4] as const) {
        const dot = image(rand, 1, 1, channels);
        const whole = (w: number, h: number): Window => ({ left: 0, top: 0, width: w, height: h });
        expectSameBytes({ image: dot, outWidth: 1, outHeight: 1, window: whole(1, 1), interpolation });
        expectSameBytes({ image: dot, outWidth: 7, outHeight: 5, window: whole(7, 5), interpolation });
        const odd = image(rand, 37, 23, channels);
        expectSameBytes({ image: odd, outWidth: 37, outHeight: 23, window: whole(37, 23), interpolation });
        expectSameBytes({ image: odd, outWidth: 37, outHeight: 9, window: whole(37, 9), interpolation });
        expectSameBytes({ image: odd, outWidth: 11, outHeight: 23, window: whole(11, 23), interpolation });
        const row = image(rand, 301, 1, channels);
        expectSameBytes({ image: row, outWidth: 100, outHeight: 3, window: whole(100, 3), interpolation });
        const column = image(rand, 1, 301, channels);
        expectSameBytes({ image: column, outWidth: 2, outHeight: 99, window: whole(2, 99), interpolation });
      }
    }
  });

  it('gives preprocess the same tensor for B0 and B1 from a 5/8-scale 1 MP decode', () => {
    const rand = random(77);
    const photo = image(rand, 722, 542, 3);
    const b0 = preprocessFor('b0', 'timm');
    for (const spec of [b0, preprocessFor('b1', 'timm'), preprocessFor('b1', 'tf')])
      expectSameTensor(edge.preprocess(photo, spec), preprocess(photo, spec));
    // A crop larger than the resized image: zero padding around the window.
    const small = image(rand, 30, 20, 4);
    const padded: PreprocessSpec = { ...b0, cropSize: 40, resizeShorterSide: 24 };
    expectSameTensor(edge.preprocess(small, padded), preprocess(small, padded));
  });

  it('gives preprocess the same tensor on 300 random images and specs', () => {
    const rand = random(11);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    for (let i = 0; i < 300; i++) {
      const photo = image(rand, int(1, 90), int(1, 90), rand() < 0.7 ? 3 : 4);
      // Crops smaller and larger than the resized image (zero padding), both interpolations.
      const spec: PreprocessSpec = {
        cropSize: int(1, 64),
        resizeShorterSide: int(1, 80),
        interpolation: rand() < 0.5 ? 'bicubic' : 'bilinear',
        mean: [rand(), rand(), rand()],
        std: [0.1 + rand(), 0.1 + rand(), 0.1 + rand()],
      };
      expectSameTensor(edge.preprocess(photo, spec), preprocess(photo, spec));
    }
  });

  it('stays exact when kernels are reused for another image of the same size', () => {
    const rand = random(17);
    const first = randomCase(rand, 50);
    for (let i = 0; i < 3; i++) {
      const other = image(rand, first.image.width, first.image.height, first.image.channels);
      expectSameBytes({ ...first, image: other });
    }
  });

  it('stays exact after an image large enough to replace its instance', () => {
    const rand = random(5);
    const big = image(rand, 2000, 1500, 4);
    const window = { left: 50, top: 40, width: 224, height: 224 };
    expectSameBytes({ image: big, outWidth: 341, outHeight: 256, window, interpolation: 'bicubic' });
    expectSameBytes(randomCase(rand, 60));
  });

  it('names the module when it cannot be instantiated', () => {
    // A module that needs an import the resize does not provide.
    const needsImport = new WebAssembly.Module(
      new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 7, 1, 1, 109, 1, 102, 0, 0]),
    );
    const broken = simdPreprocessor(needsImport).resizeWindow;
    const one: RgbImage = { width: 1, height: 1, channels: 3, data: new Uint8Array(3) };
    expect(() => broken(one, 1, 1, { left: 0, top: 0, width: 1, height: 1 }, 'bilinear')).toThrow(
      /WebAssembly SIMD resize \(resize-simd\.wasm\)/,
    );
  });
});
