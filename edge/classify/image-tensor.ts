// Image bytes → normalised NCHW tensor. Every limit is checked from the headers before decoding, and
// decoding happens before any model is loaded, so a bad upload never costs a model load.

import { ApiError } from '../../shared/http/errors.ts';
import type { PreprocessSpec } from '../../shared/preprocess/index.ts';
import { preprocess, type RgbImage } from '../../shared/preprocess/index.ts';
import {
  checkDimensions,
  DEFAULT_LIMITS,
  decodeImage,
  ImageError,
  type ImageLimits,
  type ImageProbe,
  probeImage,
} from '../image/index.ts';

export function imageLimits(maxBytes: number, maxPixels: number | undefined): ImageLimits {
  return { ...DEFAULT_LIMITS, maxBytes, maxPixels: maxPixels ?? DEFAULT_LIMITS.maxPixels };
}

/** Type and dimensions from the headers only; an empty, unknown or broken header is a 400 / 415 / 422. */
export function probeChecked(bytes: Uint8Array): ImageProbe {
  if (bytes.byteLength === 0) throw new ApiError('invalid_request', 'The request carries no image.');
  return asApiError(() => probeImage(bytes));
}

/** True when the header dimensions are within `limits` (nothing decoded). */
export function fitsLimits(probe: ImageProbe, limits: ImageLimits): boolean {
  try {
    checkDimensions(probe, limits);
    return true;
  } catch (error) {
    if (error instanceof ImageError) return false;
    throw error;
  }
}

/** A 413 when the header dimensions exceed `limits`; `hint` is appended to the message. */
export function checkLimits(probe: ImageProbe, limits: ImageLimits, hint = ''): void {
  asApiError(() => checkDimensions(probe, limits), hint);
}

/** Decodes an image whose header was already probed and checked. */
export async function decodeProbed(bytes: Uint8Array, probe: ImageProbe): Promise<RgbImage> {
  try {
    return await decodeImage(bytes, probe);
  } catch (error) {
    if (error instanceof ImageError) throw new ApiError(error.code, error.message);
    throw error;
  }
}

/** Probes, checks the limits, then decodes; image problems become 413 / 415 / 422 API errors. */
export async function decodeChecked(bytes: Uint8Array, limits: ImageLimits): Promise<RgbImage> {
  const probe = probeChecked(bytes);
  checkLimits(probe, limits);
  return decodeProbed(bytes, probe);
}

function asApiError<T>(step: () => T, hint = ''): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ImageError) throw new ApiError(error.code, error.message + hint);
    throw error;
  }
}

export interface ImageTensor {
  tensor: Float32Array;
  dims: [1, 3, number, number];
}

export function imageTensor(image: RgbImage, spec: PreprocessSpec): ImageTensor {
  return { tensor: preprocess(image, spec), dims: [1, 3, spec.cropSize, spec.cropSize] };
}
