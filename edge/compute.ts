// What the edge app needs from its WASM runtimes (image codecs, onnxruntime-web) and the model bucket,
// as one injected dependency: edge/index.ts passes the real ones, in-process tests pass their own.
import type { Hono } from 'hono';
import type { ModelId } from '../shared/catalog/models.ts';
import type { RgbImage } from '../shared/preprocess/index.ts';
import type { ResultCacheDeps } from './cache/session.ts';
import type { EdgeRun } from './classify/run-result.ts';
import type { AppEnv } from './http/app-env.ts';
import type { ImageProbe } from './image/probe.ts';

export interface EdgeCompute {
  /**
   * Decodes an image whose header was probed and checked against the limits. A JPEG may be decoded at a
   * DCT reduction that keeps its shorter side >= `minSide` (the model's decodeMinSideFor); without it,
   * at what every edge model needs.
   */
  decode(bytes: Uint8Array, probe: ImageProbe, minSide?: number): Promise<RgbImage>;
  /** Runs one edge model on a decoded image; an unloadable model is an ApiError (503). */
  runModel(env: Env, model: ModelId, image: RgbImage, topK: number): Promise<EdgeRun>;
  /** Whether the model's session is loaded in this isolate. */
  isLoaded(model: ModelId): boolean;
  /** The weights named in the model's model.json in the bucket; undefined when it cannot be read. */
  weightsOf(env: Env, model: ModelId): Promise<'pretrained' | 'untrained' | undefined>;
  /** The result cache's store and weights checksums; without it the cache is bypassed. */
  resultCache?: ResultCacheDeps;
  /** Where a raw JPEG upload of `length` bytes is read into (a decoder's heap): held once, not copied. */
  uploadBuffer?(length: number): Uint8Array;
  /** Internal routes mounted under /_debug when DEBUG_ROUTES=1. */
  debugRoutes?: Hono<AppEnv>;
}
