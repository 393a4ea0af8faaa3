// Image bytes → normalised NCHW tensor. Every limit is checked from the headers before decoding, and
// decoding happens before any model is loaded, so a bad upload never costs a model load.

import { ApiError } from '../../shared/http/errors.ts';
import type { PreprocessSpec } from '../../shared/preprocess/index.ts';
import { preprocess, type RgbImage } from '../../shared/preprocess/index.ts';
import { DecodeBusyError } from '../image/decode-memory.ts';
import { EDGE_DECODE_MIN_SIDE, edgeImageLimits } from '../image/edge-limits.ts';
import {
  checkDimensions,
  DEFAULT_LIMITS,
  type DecodeLease,
  DecodeMemory,
  decodeImage,
  ImageError,
  type ImageLimits,
  type ImageProbe,
  planDecode,
  probeImage,
} from '../image/index.ts';
import { decodeBusyError } from './decode-busy.ts';

export { EDGE_DECODE_MIN_SIDE, edgeImageLimits, imageLimits } from '../image/edge-limits.ts';

/**
 * Concurrent decodes in one isolate share this much memory; the rest of the 128 MB belongs to the
 * model's heap (48-72 MiB) and the runtime. Requests beyond it wait up to DECODE_WAIT_MS, then get a 503.
 */
export const ISOLATE_DECODE_BUDGET_BYTES = 40 * 1024 * 1024;
export const DECODE_WAIT_MS = 3000;
/** A reservation not given back by preprocessing (the request failed in between) lapses after this. */
const DECODE_LEASE_MS = 30_000;

export const decodeMemory = new DecodeMemory({
  budgetBytes: ISOLATE_DECODE_BUDGET_BYTES,
  maxWaitMs: DECODE_WAIT_MS,
  leaseMs: DECODE_LEASE_MS,
});
const leases = new WeakMap<RgbImage, DecodeLease>();

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

/**
 * Decodes an image whose header was already probed and checked against the edge limits, inside the
 * isolate's decode memory budget; the reservation lasts until imageTensor() has consumed the pixels.
 */
export async function decodeProbed(bytes: Uint8Array, probe: ImageProbe): Promise<RgbImage> {
  const plan = planDecode(probe, EDGE_DECODE_MIN_SIDE);
  let lease: DecodeLease;
  try {
    lease = await decodeMemory.acquire(plan.bytes);
  } catch (error) {
    if (!(error instanceof DecodeBusyError)) throw error;
    throw decodeBusyError(DECODE_WAIT_MS);
  }
  try {
    const image = await decodeImage(bytes, probe, EDGE_DECODE_MIN_SIDE);
    leases.set(image, lease);
    return image;
  } catch (error) {
    lease.release();
    if (error instanceof ImageError) throw new ApiError(error.code, error.message);
    throw error;
  }
}

/** Probes, checks the limits, then decodes; image problems become 413 / 415 / 422 API errors. */
export async function decodeChecked(
  bytes: Uint8Array,
  limits: ImageLimits = edgeImageLimits(DEFAULT_LIMITS.maxBytes, undefined),
): Promise<RgbImage> {
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

/** Preprocesses, then gives the image's decode memory back. */
export function imageTensor(image: RgbImage, spec: PreprocessSpec): ImageTensor {
  try {
    return { tensor: preprocess(image, spec), dims: [1, 3, spec.cropSize, spec.cropSize] };
  } finally {
    leases.get(image)?.release();
    leases.delete(image);
  }
}
