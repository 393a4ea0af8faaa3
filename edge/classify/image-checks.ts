// Header-only checks on an upload: type and dimensions, never a decoded pixel. Kept apart from the
// decoder (image-tensor.ts) because it needs no WASM, so the in-process app and its tests run it for real.
import { ApiError } from '../../shared/http/errors.ts';
import { ImageError } from '../image/errors.ts';
import { checkDimensions, type ImageLimits } from '../image/limits.ts';
import { type ImageProbe, probeImage } from '../image/probe.ts';

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

function asApiError<T>(step: () => T, hint = ''): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ImageError) throw new ApiError(error.code, error.message + hint);
    throw error;
  }
}
