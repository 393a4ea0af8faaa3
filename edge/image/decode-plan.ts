import { ImageError } from './errors.ts';
import type { ImageProbe } from './probe.ts';
import { coefficientBytes } from './probe-jpeg.ts';

// What a decode will allocate, known from the headers before it starts. JPEG is decoded at a reduced
// scale (libjpeg's DCT scaling), so its cost follows the output size; PNG and WebP are decoded at full
// size, so they get pixel limits of their own, derived from the same budget.

const MiB = 1024 * 1024;

/** Most memory one image may take to decode at the edge (the target: 24 MiB added per request). */
export const DECODE_BUDGET_BYTES = 24 * MiB;

/**
 * Bytes per output pixel: the decoder's output in its heap, the copy out of it, and the upright RGB copy
 * (orient.ts) or the RGBA → RGB step. JPEG decodes straight to RGB (3 + 3 + 3); PNG and WebP to RGBA
 * (4 + 4 + 3), plus the PNG decoder's unfiltered scanlines before conversion.
 */
const JPEG_BYTES_PER_PIXEL = 9;
const PNG_BYTES_PER_PIXEL = 12;
const WEBP_BYTES_PER_PIXEL = 11;
/** Codec instance, row buffers and tables. */
const FIXED_OVERHEAD = 1 * MiB;

export const PNG_MAX_PIXELS =
  Math.floor((DECODE_BUDGET_BYTES - FIXED_OVERHEAD) / PNG_BYTES_PER_PIXEL / 1e5) * 1e5;
export const WEBP_MAX_PIXELS =
  Math.floor((DECODE_BUDGET_BYTES - FIXED_OVERHEAD) / WEBP_BYTES_PER_PIXEL / 1e5) * 1e5;

export interface DecodePlan {
  /** Output size: the stored size divided by `scale` (rounded up), before EXIF orientation. */
  width: number;
  height: number;
  /** 1, 2, 4 or 8 (only JPEG is ever reduced). */
  scale: number;
  /** Estimated peak bytes of the decode, input copy included. */
  bytes: number;
  /** Of those, what the decoder allocates in its own heap beside the input: output, coefficients, state. */
  heapBytes: number;
}

/**
 * The strongest DCT reduction (1/8, 1/4, 1/2) whose shorter side stays at least `minSide`; 1 when even
 * 1/2 would go below it. `minSide` is twice the largest resize target of the edge models, so the exact
 * resize that follows still downsamples by at least 2.
 */
export function jpegScale(width: number, height: number, minSide: number): number {
  const shorter = Math.min(width, height);
  for (const scale of [8, 4, 2]) if (Math.ceil(shorter / scale) >= minSide) return scale;
  return 1;
}

export function planDecode(probe: ImageProbe, minSide: number): DecodePlan {
  const pixels = (w: number, h: number) => w * h;
  if (probe.type === 'image/jpeg') {
    const scale = jpegScale(probe.width, probe.height, minSide);
    const width = Math.ceil(probe.width / scale);
    const height = Math.ceil(probe.height / scale);
    const coefficients = probe.jpeg
      ? coefficientBytes({ ...probe.jpeg, width: probe.width, height: probe.height })
      : 0;
    const bytes =
      probe.byteLength + pixels(width, height) * JPEG_BYTES_PER_PIXEL + coefficients + FIXED_OVERHEAD;
    const heapBytes = pixels(width, height) * 3 + coefficients + FIXED_OVERHEAD;
    return { width, height, scale, bytes, heapBytes };
  }
  const perPixel = probe.type === 'image/png' ? PNG_BYTES_PER_PIXEL : WEBP_BYTES_PER_PIXEL;
  const bytes = probe.byteLength + pixels(probe.width, probe.height) * perPixel + FIXED_OVERHEAD;
  const heapBytes = bytes - probe.byteLength;
  return { width: probe.width, height: probe.height, scale: 1, bytes, heapBytes };
}

const mp = (pixels: number) => `${(pixels / 1e6).toFixed(1)} MP`;
const mib = (bytes: number) => `${Math.ceil(bytes / MiB)} MiB`;

/** Rejects (413) an image whose decode would not fit the per-image budget; names the limit that applies. */
export function checkDecodeBudget(probe: ImageProbe, minSide: number, maxDecodedPixels: number): DecodePlan {
  const plan = planDecode(probe, minSide);
  const { width, height } = probe;
  const stored = width * height;
  if (probe.type === 'image/png' && stored > PNG_MAX_PIXELS) {
    throw new ImageError(
      'image_too_large',
      `PNG exceeds the ${mp(PNG_MAX_PIXELS)} PNG limit (${width}x${height}): PNG cannot be decoded at reduced scale, and ${mp(PNG_MAX_PIXELS)} is what fits the edge's ${mib(DECODE_BUDGET_BYTES)} decode budget`,
    );
  }
  if (probe.type === 'image/webp' && stored > WEBP_MAX_PIXELS) {
    throw new ImageError(
      'image_too_large',
      `WebP exceeds the ${mp(WEBP_MAX_PIXELS)} WebP limit (${width}x${height}): WebP is decoded at full size, and ${mp(WEBP_MAX_PIXELS)} is what fits the edge's ${mib(DECODE_BUDGET_BYTES)} decode budget`,
    );
  }
  if (plan.width * plan.height > maxDecodedPixels) {
    throw new ImageError(
      'image_too_large',
      `image is ${width}x${height} and would decode to ${plan.width}x${plan.height} (${plan.width * plan.height} pixels); the edge decodes at most ${maxDecodedPixels} pixels`,
    );
  }
  if (plan.bytes > DECODE_BUDGET_BYTES) {
    const why = probe.jpeg?.wholeImageCoefficients
      ? 'a progressive or multi-scan JPEG keeps every DCT coefficient of the full image while decoding'
      : 'the upload and its decoded pixels';
    throw new ImageError(
      'image_too_large',
      `the ${width}x${height} image needs about ${mib(plan.bytes)} to decode (${why}); the edge's decode budget is ${mib(DECODE_BUDGET_BYTES)}`,
    );
  }
  return plan;
}
