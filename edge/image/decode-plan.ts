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
 * (orient.ts) or the RGBA → RGB step. JPEG decodes to RGB (3 + 3 + 3; a planar decode's heap also holds the
 * YCbCr planes, JPEG_PLANES_BYTES_PER_PIXEL below); PNG and WebP to RGBA
 * (4 + 4 + 3), plus the PNG decoder's unfiltered scanlines before conversion. A JPEG is copied out of the
 * heap upright in one step, so its third 3 covers (with room to spare) the edge preprocessing's WebAssembly
 * memory (edge/preprocess: a band of source rows and the resized window), used while this reservation is
 * still held.
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
  /** Output size, before EXIF orientation: each stored side times scaleEighths / 8, rounded up. */
  width: number;
  height: number;
  /** The DCT scaling factor in eighths, 1-8 (8: full size; only JPEG is ever reduced). */
  scaleEighths: number;
  /** Estimated peak bytes of the decode, input copy included. */
  bytes: number;
  /** Of those, what the decoder allocates in its own heap beside the input: output, coefficients, state. */
  heapBytes: number;
  /** JPEG only: decode to YCbCr planes and convert them here (jpeg-turbo.ts), not libjpeg's RGB output. */
  planar: boolean;
}

/**
 * The DCT scaling factors the edge decodes JPEGs at, in eighths. libjpeg-turbo scales by any M/8
 * (M = 1..8); 7/8 is left out because it decodes no faster than full size (docs/benchmarks.md).
 */
export const JPEG_SCALES_EIGHTHS: readonly number[] = [1, 2, 3, 4, 5, 6, 8];

/** A side of `side` pixels decoded at `eighths`/8: rounded up, as libjpeg (and TurboJPEG's TJSCALED) does. */
export function scaledSide(side: number, eighths: number): number {
  return Math.floor((side * eighths + 7) / 8);
}

/** TurboJPEG's scaling factors (tjGetScalingFactors), largest first. */
const TURBO_FACTORS: readonly (readonly [number, number])[] = [
  [2, 1],
  [15, 8],
  [7, 4],
  [13, 8],
  [3, 2],
  [11, 8],
  [5, 4],
  [9, 8],
  [1, 1],
  [7, 8],
  [3, 4],
  [5, 8],
  [1, 2],
  [3, 8],
  [1, 4],
  [1, 8],
];

/**
 * The size tjDecompress2 writes when asked for `out`: it takes the largest of its factors whose scaled
 * size (TJSCALED, rounded up) fits inside the requested one. For a size planned at M/8 that is M/8
 * itself, or a factor giving the same size.
 */
export function turboOutputSize(
  image: { width: number; height: number },
  out: { width: number; height: number },
): { width: number; height: number } | undefined {
  for (const [num, denom] of TURBO_FACTORS) {
    const width = Math.floor((image.width * num + denom - 1) / denom);
    const height = Math.floor((image.height * num + denom - 1) / denom);
    if (width <= out.width && height <= out.height) return { width, height };
  }
  return undefined;
}

/**
 * The strongest DCT reduction, in eighths, whose shorter side stays at least `minSide`; 8 (full size)
 * when none does. `minSide` is twice the resize target of the models the decode is for
 * (edge-limits.ts), so the exact resize that follows still downsamples by at least 2.
 */
export function jpegScaleEighths(width: number, height: number, minSide: number): number {
  const shorter = Math.min(width, height);
  for (const eighths of JPEG_SCALES_EIGHTHS) if (scaledSide(shorter, eighths) >= minSide) return eighths;
  return 8;
}

/**
 * From this scale up, YCbCr JPEGs (4:2:0, 4:4:4) are decoded to planes and converted to RGB by the edge's
 * own SIMD code rather than by libjpeg (turbo-decode.ts), when the planes fit the budget too: the heap then
 * holds them (at most 3 bytes per pixel, 4:4:4) beside the RGB. The plan is where this is decided.
 */
const PLANAR_FROM_EIGHTHS = 5;
const JPEG_PLANES_BYTES_PER_PIXEL = 3;

export function planDecode(probe: ImageProbe, minSide: number): DecodePlan {
  const pixels = (w: number, h: number) => w * h;
  if (probe.type === 'image/jpeg') {
    const scaleEighths = jpegScaleEighths(probe.width, probe.height, minSide);
    const width = scaledSide(probe.width, scaleEighths);
    const height = scaledSide(probe.height, scaleEighths);
    const coefficients = probe.jpeg
      ? coefficientBytes({ ...probe.jpeg, width: probe.width, height: probe.height })
      : 0;
    const rgbHeapBytes = pixels(width, height) * 3 + coefficients + FIXED_OVERHEAD;
    const outsideHeap = probe.byteLength + pixels(width, height) * (JPEG_BYTES_PER_PIXEL - 3);
    const planarHeapBytes = rgbHeapBytes + pixels(width, height) * JPEG_PLANES_BYTES_PER_PIXEL;
    // Planes only where they fit: a long strip decoded whole keeps libjpeg's RGB output within the budget.
    const planar =
      scaleEighths >= PLANAR_FROM_EIGHTHS && outsideHeap + planarHeapBytes <= DECODE_BUDGET_BYTES;
    const heapBytes = planar ? planarHeapBytes : rgbHeapBytes;
    return { width, height, scaleEighths, bytes: outsideHeap + heapBytes, heapBytes, planar };
  }
  const perPixel = probe.type === 'image/png' ? PNG_BYTES_PER_PIXEL : WEBP_BYTES_PER_PIXEL;
  const bytes = probe.byteLength + pixels(probe.width, probe.height) * perPixel + FIXED_OVERHEAD;
  const heapBytes = bytes - probe.byteLength;
  return { width: probe.width, height: probe.height, scaleEighths: 8, bytes, heapBytes, planar: false };
}

/** "5/8 scale", or "full size". */
export const scaleName = (eighths: number) => (eighths === 8 ? 'full size' : `${eighths}/8 scale`);
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
      `image is ${width}x${height} and would decode to ${plan.width}x${plan.height} (${scaleName(plan.scaleEighths)}, ${plan.width * plan.height} pixels); the edge decodes at most ${maxDecodedPixels} pixels`,
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
