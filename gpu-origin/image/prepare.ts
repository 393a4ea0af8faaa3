import { preprocess } from '../../shared/preprocess/preprocess.ts';
import type { PreprocessSpec } from '../../shared/preprocess/spec.ts';
import { type DecodeLimits, decodeImage } from './decode.ts';

export interface Prepared {
  tensor: Float32Array;
  decodeMs: number;
  preprocessMs: number;
}

/** Bytes → model input [3, S, S]: sharp decode, then the same shared preprocess the edge runs. */
export async function decodeAndPreprocess(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  limits: DecodeLimits,
): Promise<Prepared> {
  const started = performance.now();
  const pixels = await decodeImage(bytes, limits);
  const decoded = performance.now();
  const tensor = preprocess(pixels, spec);
  return { tensor, decodeMs: decoded - started, preprocessMs: performance.now() - decoded };
}
