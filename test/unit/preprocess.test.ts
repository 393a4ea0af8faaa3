import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  axisKernel,
  centreCropOffset,
  type Interpolation,
  type PreprocessSpec,
  preprocess,
  type RgbImage,
  resizedSize,
  resizeWindow,
  roundHalfEven,
  type Window,
} from '../../shared/preprocess/index.ts';

// Golden tensors come from torchvision's Resize → CenterCrop → ToTensor → Normalize on PIL images
// (infra/golden/make_preprocess_fixture.py). Our resampler reproduces PIL's fixed-point arithmetic, so the
// pixels should be identical; the only allowed difference is float32 rounding in the normalisation.
const TOLERANCE = 1e-5;
const FIXTURES = join(import.meta.dirname, '../fixtures/preprocess');

interface Case {
  name: string;
  image: string;
  tensor: string;
  spec: PreprocessSpec;
}
const cases = (JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: Case[] }).cases;

async function loadPng(file: string, channels: 3 | 4 = 3): Promise<RgbImage> {
  let pipeline = sharp(join(FIXTURES, file));
  pipeline = channels === 4 ? pipeline.ensureAlpha(0.5) : pipeline.removeAlpha();
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels, data: new Uint8Array(data) };
}

function loadTensor(file: string): Float32Array {
  const bytes = readFileSync(join(FIXTURES, file));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

describe('preprocess matches torchvision on PIL images', () => {
  it('has golden cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
  });

  for (const c of cases) {
    it(`${c.name}: max |diff| <= ${TOLERANCE}`, async () => {
      const expected = loadTensor(c.tensor);
      const actual = preprocess(await loadPng(c.image), c.spec);
      expect(actual.length).toBe(3 * c.spec.cropSize * c.spec.cropSize);
      expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('ignores an alpha channel, like convert("RGB")', async () => {
    const c = cases[0] as Case;
    const rgba = preprocess(await loadPng(c.image, 4), c.spec);
    expect(maxAbsDiff(rgba, loadTensor(c.tensor))).toBeLessThanOrEqual(TOLERANCE);
  });

  it('is sensitive to the interpolation (the comparison can fail)', async () => {
    const c = cases.find((x) => x.spec.interpolation === 'bicubic') as Case;
    const other = preprocess(await loadPng(c.image), { ...c.spec, interpolation: 'bilinear' });
    expect(maxAbsDiff(other, loadTensor(c.tensor))).toBeGreaterThan(0.05);
  });
});

describe('geometry', () => {
  it('resizes the shorter side and floors the long one', () => {
    expect(resizedSize(300, 200, 97)).toEqual({ width: 145, height: 97 });
    expect(resizedSize(151, 233, 81)).toEqual({ width: 81, height: 124 });
    expect(resizedSize(640, 640, 256)).toEqual({ width: 256, height: 256 });
  });

  it("rounds crop margins like Python's round()", () => {
    expect([0.5, 1.5, 2.5, 16.5, 40.5, 3.4, 3.6].map(roundHalfEven)).toEqual([0, 2, 2, 16, 40, 3, 4]);
    expect(centreCropOffset(97, 64)).toBe(16);
    expect(centreCropOffset(145, 64)).toBe(40);
    expect(centreCropOffset(60, 64)).toBe(-2);
  });

  it('rejects nonsense input', () => {
    const img: RgbImage = { width: 2, height: 2, channels: 3, data: new Uint8Array(12) };
    const spec: PreprocessSpec = {
      cropSize: 2,
      resizeShorterSide: 2,
      interpolation: 'bilinear',
      mean: [0, 0, 0],
      std: [1, 1, 1],
    };
    expect(() => preprocess({ ...img, data: new Uint8Array(5) }, spec)).toThrow(RangeError);
    expect(() => preprocess(img, { ...spec, cropSize: 0 })).toThrow(RangeError);
    expect(Array.from(preprocess({ ...img, data: new Uint8Array(12).fill(255) }, spec))).toEqual(
      new Array(12).fill(1),
    );
  });
});

describe('resizeWindow equals a plain one-pixel-at-a-time resampler', () => {
  // The resampler works two rows at a time and in int32 arithmetic for speed; this is PIL's arithmetic
  // written the simple way, on the same kernels (which the golden cases above pin to PIL): horizontal
  // pass rounded and clipped to bytes, then the vertical pass. Random bytes reach both clipping ends.
  const SHIFT = 22;
  const clip8 = (v: number) => Math.min(255, Math.max(0, v));
  function reference(image: RgbImage, outW: number, outH: number, win: Window, interp: Interpolation) {
    const h = axisKernel(image.width, outW, interp, win.left, win.width);
    const v = axisKernel(image.height, outH, interp, win.top, win.height);
    const sameW = outW === image.width;
    const sameH = outH === image.height;
    const at = (x: number, y: number, c: number) =>
      image.data[(y * image.width + x) * image.channels + c] ?? 0;
    const horizontal = (x: number, y: number, c: number) => {
      if (sameW) return at(win.left + x, y, c);
      let sum = 1 << (SHIFT - 1);
      for (let t = 0; t < (h.count[x] ?? 0); t++)
        sum += at((h.start[x] ?? 0) + t, y, c) * (h.weights[x * h.size + t] ?? 0);
      return clip8(Math.floor(sum / 2 ** SHIFT));
    };
    const out: number[] = [];
    for (let y = 0; y < win.height; y++)
      for (let x = 0; x < win.width; x++)
        for (let c = 0; c < 3; c++) {
          if (sameH) {
            out.push(horizontal(x, win.top + y, c));
            continue;
          }
          let sum = 1 << (SHIFT - 1);
          for (let t = 0; t < (v.count[y] ?? 0); t++)
            sum += horizontal(x, (v.start[y] ?? 0) + t, c) * (v.weights[y * v.size + t] ?? 0);
          out.push(clip8(Math.floor(sum / 2 ** SHIFT)));
        }
    return out;
  }

  it('on 120 random images, sizes, windows, 3 or 4 channels, both filters: every byte equal', () => {
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 120; i++) {
      const channels = rnd(2) ? 3 : 4;
      const width = 1 + rnd(70);
      const height = 1 + rnd(70);
      const data = Uint8Array.from({ length: width * height * channels }, () => rnd(256));
      const image = { width, height, channels, data } as RgbImage;
      const outW = rnd(4) === 0 ? width : 1 + rnd(60);
      const outH = rnd(4) === 0 ? height : 1 + rnd(60);
      const left = rnd(outW);
      const top = rnd(outH);
      const win = { left, top, width: 1 + rnd(outW - left), height: 1 + rnd(outH - top) };
      const interp: Interpolation = rnd(2) ? 'bicubic' : 'bilinear';
      const actual = resizeWindow(image, outW, outH, win, interp);
      expect(Array.from(actual), `${width}x${height}x${channels} -> ${outW}x${outH} ${interp}`).toEqual(
        reference(image, outW, outH, win, interp),
      );
    }
  });
});
