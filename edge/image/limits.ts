import { checkDecodeBudget } from './decode-plan.ts';
import { ImageError } from './errors.ts';
import type { ImageProbe } from './probe.ts';

export interface ImageLimits {
  maxBytes: number;
  maxSide: number;
  /** Stored pixels, or with `decodeMinSide` the pixels the edge decodes (after JPEG reduction). */
  maxPixels: number;
  /**
   * Set where the image is decoded here (the edge): the limits are checked on the decode plan that keeps
   * a JPEG's shorter side >= this, and that plan must fit the per-image memory budget (decode-plan.ts).
   * The edge checks with the largest of its models' values (EDGE_DECODE_MIN_SIDE), so the decode for any
   * one model is never larger than what was checked.
   */
  decodeMinSide?: number;
}

/** 16 MP decodes to 64 MB of RGBA: about the most a 128 MB isolate can hold next to the model. */
export const DEFAULT_LIMITS: ImageLimits = {
  maxBytes: 10 * 1024 * 1024,
  maxSide: 10_000,
  maxPixels: 16_000_000,
};

/** Rejects an upload by size before it is even probed. */
export function checkByteLength(length: number, limits: ImageLimits = DEFAULT_LIMITS): void {
  if (length > limits.maxBytes) {
    throw new ImageError('image_too_large', `image is ${length} bytes; the limit is ${limits.maxBytes}`);
  }
}

/** Rejects an image by its header dimensions, before any decoding. */
export function checkDimensions(
  probe: Pick<ImageProbe, 'width' | 'height'> | ImageProbe,
  limits: ImageLimits = DEFAULT_LIMITS,
): void {
  const { width, height } = probe;
  if (width > limits.maxSide || height > limits.maxSide) {
    throw new ImageError(
      'image_too_large',
      `image is ${width}x${height}; no side may exceed ${limits.maxSide} pixels`,
    );
  }
  if (limits.decodeMinSide !== undefined && 'type' in probe) {
    checkDecodeBudget(probe, limits.decodeMinSide, limits.maxPixels);
    return;
  }
  if (width * height > limits.maxPixels) {
    throw new ImageError(
      'image_too_large',
      `image has ${width * height} pixels (${width}x${height}); the limit is ${limits.maxPixels}`,
    );
  }
}
