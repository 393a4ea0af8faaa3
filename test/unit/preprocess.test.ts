import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  centreCropOffset,
  type PreprocessSpec,
  preprocess,
  type RgbImage,
  resizedSize,
  roundHalfEven,
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
