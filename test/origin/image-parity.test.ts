import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { encode as encodePng } from 'fast-png';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../gpu-origin/image/decode.ts';
import { createPreprocessPool } from '../../gpu-origin/image/preprocess-pool.ts';
import { preprocessFor } from '../../shared/catalog/models.ts';
import { preprocess } from '../../shared/preprocess/preprocess.ts';
import type { RgbImage } from '../../shared/preprocess/spec.ts';
import { edgeDecode } from './edge-decode.ts';

// Edge and origin must feed the model the same tensor for the same upload. The origin decodes with sharp
// (libvips, libjpeg-turbo, libspng, libwebp); the edge with its own WASM codecs (TurboJPEG built here,
// jsquash's PNG and WebP; see edge-decode.ts). These images are small enough that the edge decodes them
// at full size. Both then run the shared preprocess. Tolerances:
//   PNG and lossless WebP: exact (lossless formats leave decoders nothing to disagree on).
//   JPEG and lossy WebP: up to 2 levels per channel are legitimate between IDCT / upsampling
//   implementations; measured here the two agree exactly (also on 100 real ImageNet photos).

const LIMITS = { maxBytes: 50_000_000, maxPixels: 50_000_000 };
const SPEC = preprocessFor('b0', 'torchvision');
const LOSSY_LEVELS = 2;

function syntheticRgb(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + (i >> 7) * 11) & 255;
  return rgb;
}

/** Largest per-channel difference between two decoded images of the same size (alpha ignored). */
function maxPixelDiff(a: RgbImage, b: RgbImage): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let max = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs((a.data[p * a.channels + c] as number) - (b.data[p * b.channels + c] as number));
      if (d > max) max = d;
    }
  }
  return max;
}

function maxTensorDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

async function bothPaths(bytes: Uint8Array) {
  const edge = await edgeDecode(bytes);
  const origin = await decodeImage(bytes, LIMITS);
  return { edge, origin, edgeTensor: preprocess(edge, SPEC), originTensor: preprocess(origin, SPEC) };
}

describe('edge and origin decode to the same tensor', () => {
  const W = 120;
  const H = 90;
  const raw = sharp(syntheticRgb(W, H), { raw: { width: W, height: H, channels: 3 } });
  const cases = [
    { name: 'PNG', format: 'png', options: {}, levels: 0 },
    { name: 'lossless WebP', format: 'webp', options: { lossless: true }, levels: 0 },
    { name: 'JPEG q90', format: 'jpeg', options: { quality: 90 }, levels: LOSSY_LEVELS },
    { name: 'lossy WebP q90', format: 'webp', options: { quality: 90 }, levels: LOSSY_LEVELS },
  ] as const;

  for (const c of cases) {
    for (const orientation of [1, 3, 6, 8]) {
      it(`${c.name}, EXIF orientation ${orientation}`, async () => {
        const bytes = await raw
          .clone()
          .toFormat(c.format, c.options)
          .withMetadata({ orientation })
          .toBuffer();
        const { edge, origin, edgeTensor, originTensor } = await bothPaths(new Uint8Array(bytes));
        // Orientations 5-8 swap width and height.
        expect([origin.width, origin.height]).toEqual(orientation >= 5 ? [H, W] : [W, H]);
        expect(maxPixelDiff(edge, origin)).toBeLessThanOrEqual(c.levels);
        // A level is 1/255 before normalisation; the smallest std (0.224) scales it up the most.
        expect(maxTensorDiff(edgeTensor, originTensor)).toBeLessThanOrEqual(c.levels / 255 / 0.224 + 1e-6);
      });
    }
  }

  it('grayscale and RGBA PNGs: both drop alpha and replicate gray, exactly alike', async () => {
    const gray = encodePng({
      width: 33,
      height: 17,
      channels: 1,
      data: syntheticRgb(33, 17).subarray(0, 33 * 17),
    });
    const rgba = encodePng({
      width: 33,
      height: 17,
      channels: 4,
      data: syntheticRgb(33 * 4, 17).subarray(0, 33 * 17 * 4),
    });
    for (const bytes of [gray, rgba]) {
      const { edge, origin, edgeTensor, originTensor } = await bothPaths(bytes);
      expect(maxPixelDiff(edge, origin)).toBe(0);
      expect(maxTensorDiff(edgeTensor, originTensor)).toBe(0);
    }
  });

  it("origin's PNG decode returns exactly the pixels an independent encoder wrote", async () => {
    const pixels = syntheticRgb(57, 41);
    const decoded = await decodeImage(
      encodePng({ width: 57, height: 41, channels: 3, data: pixels }),
      LIMITS,
    );
    expect(decoded.channels).toBe(3);
    expect(Buffer.from(decoded.data).equals(Buffer.from(pixels))).toBe(true);
    const expected = preprocess({ width: 57, height: 41, channels: 3, data: pixels }, SPEC);
    expect(maxTensorDiff(preprocess(decoded, SPEC), expected)).toBe(0);
  });

  it('the worker-thread pool gives the same tensor as decoding on the calling thread', async () => {
    const pool = createPreprocessPool({ size: 1 });
    const deadline = () => performance.now() + 60_000;
    try {
      const bytes = new Uint8Array(
        await sharp(syntheticRgb(W, H), { raw: { width: W, height: H, channels: 3 } })
          .jpeg()
          .toBuffer(),
      );
      const pooled = await pool.prepare(bytes, SPEC, LIMITS, deadline());
      expect(maxTensorDiff(pooled.tensor, preprocess(await decodeImage(bytes, LIMITS), SPEC))).toBe(0);
      await expect(pool.prepare(new Uint8Array([1, 2, 3]), SPEC, LIMITS, deadline())).rejects.toMatchObject({
        code: 'unsupported_media_type',
      });
    } finally {
      await pool.close();
    }
  });

  const photos = '../shared/data/imagenet-val-100/images';
  const photoDir = new URL(`../../${photos}/`, import.meta.url);
  const present = existsSync(photoDir);
  if (!present) console.log(`skipping real-photo parity: ${photos} is absent`);
  it.skipIf(!present)('real ImageNet JPEG photos (first 10 of imagenet-val-100)', async () => {
    const files = readdirSync(photoDir)
      .filter((f) => /\.jpe?g$/i.test(f))
      .sort()
      .slice(0, 10);
    expect(files.length).toBe(10);
    for (const file of files) {
      const { edge, origin, edgeTensor, originTensor } = await bothPaths(
        new Uint8Array(readFileSync(new URL(file, photoDir))),
      );
      expect(maxPixelDiff(edge, origin), file).toBeLessThanOrEqual(LOSSY_LEVELS);
      expect(maxTensorDiff(edgeTensor, originTensor), file).toBeLessThanOrEqual(
        LOSSY_LEVELS / 255 / 0.224 + 1e-6,
      );
    }
  });
});
