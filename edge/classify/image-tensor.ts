// Image bytes → normalised NCHW tensor. Every limit is checked from the headers before decoding, and
// decoding happens before any model is loaded, so a bad upload never costs a model load.
import type { PreprocessSpec } from '../../shared/catalog/models.ts';
import { preprocess, type RgbImage } from '../../shared/preprocess/index.ts';
import { ApiError } from '../http/api-error.ts';
import {
  checkDimensions,
  DEFAULT_LIMITS,
  decodeImage,
  ImageError,
  type ImageLimits,
  probeImage,
} from '../image/index.ts';

export function imageLimits(maxBytes: number, maxPixels: number | undefined): ImageLimits {
  return { ...DEFAULT_LIMITS, maxBytes, maxPixels: maxPixels ?? DEFAULT_LIMITS.maxPixels };
}

/** Probes, checks the limits, then decodes; image problems become 413 / 415 / 422 API errors. */
export async function decodeChecked(bytes: Uint8Array, limits: ImageLimits): Promise<RgbImage> {
  if (bytes.byteLength === 0) throw new ApiError('invalid_request', 'The request carries no image.');
  try {
    const probe = probeImage(bytes);
    checkDimensions(probe, limits);
    return await decodeImage(bytes, probe);
  } catch (error) {
    if (error instanceof ImageError) throw new ApiError(error.code, error.message);
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
