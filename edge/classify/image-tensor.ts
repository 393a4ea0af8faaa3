// Image bytes → normalised NCHW tensor. Every limit is checked from the headers before decoding, and
// decoding happens before any model is loaded, so a bad upload never costs a model load.

import { ApiError } from '../../shared/http/errors.ts';
import type { PreprocessSpec, RgbImage } from '../../shared/preprocess/index.ts';
import { DecodeBusyError } from '../image/decode-memory.ts';
import { EDGE_DECODE_MIN_SIDE, edgeImageLimits } from '../image/edge-limits.ts';
import {
  DEFAULT_LIMITS,
  type DecodeLease,
  DecodeMemory,
  decodeImage,
  ImageError,
  type ImageLimits,
  type ImageProbe,
  planDecode,
} from '../image/index.ts';
import { edgePreprocess } from '../preprocess/index.ts';
import { decodeBusyError } from './decode-busy.ts';
import { checkLimits, probeChecked } from './image-checks.ts';

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

/**
 * Decodes an image whose header was already probed and checked against the edge limits, inside the
 * isolate's decode memory budget; the reservation lasts until imageTensor() has consumed the pixels.
 * JPEGs keep a shorter side of at least `minSide` (decodeMinSideFor the model the pixels are for; by
 * default what every edge model needs): the reservation is planned with the same value as the decode.
 */
export async function decodeProbed(
  bytes: Uint8Array,
  probe: ImageProbe,
  minSide = EDGE_DECODE_MIN_SIDE,
): Promise<RgbImage> {
  const plan = planDecode(probe, minSide);
  let lease: DecodeLease;
  try {
    lease = await decodeMemory.acquire(plan.bytes);
  } catch (error) {
    if (!(error instanceof DecodeBusyError)) throw error;
    throw decodeBusyError(DECODE_WAIT_MS);
  }
  try {
    const image = await decodeImage(bytes, probe, minSide);
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
  minSide = EDGE_DECODE_MIN_SIDE,
): Promise<RgbImage> {
  const probe = probeChecked(bytes);
  checkLimits(probe, limits);
  return decodeProbed(bytes, probe, minSide);
}

export interface ImageTensor {
  tensor: Float32Array;
  dims: [1, 3, number, number];
}

/** Preprocesses, then gives the image's decode memory back. */
export function imageTensor(image: RgbImage, spec: PreprocessSpec): ImageTensor {
  try {
    return { tensor: edgePreprocess(image, spec), dims: [1, 3, spec.cropSize, spec.cropSize] };
  } finally {
    leases.get(image)?.release();
    leases.delete(image);
  }
}
