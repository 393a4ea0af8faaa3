// Every setting comes from the Worker's environment (wrangler.toml [vars], secrets, bindings).
import type { GraphOptimization } from './inference/classifier.ts';

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

function positiveInt(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/** Largest request body accepted by POST /v1/classify (MAX_BODY_BYTES, default 10 MiB). */
export function maxBodyBytes(env: Env): number {
  return positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
}

/** Largest decoded image, in pixels (MAX_IMAGE_PIXELS); undefined keeps the decoder's default. */
export function maxImagePixels(env: Env): number | undefined {
  const value = positiveInt(env.MAX_IMAGE_PIXELS, 0);
  return value > 0 ? value : undefined;
}

const OPTIMIZATION_LEVELS: readonly GraphOptimization[] = ['disabled', 'basic', 'extended', 'all'];

/** ORT graph optimisation level for new sessions (ORT_GRAPH_OPT, default "all"). */
export function graphOptimization(env: Env): GraphOptimization {
  const raw = env.ORT_GRAPH_OPT as GraphOptimization | undefined;
  return raw && OPTIMIZATION_LEVELS.includes(raw) ? raw : 'all';
}

/** Internal routes under /_debug exist only where DEBUG_ROUTES is "1" (local dev and benchmarks). */
export function debugRoutesEnabled(env: Env): boolean {
  return env.DEBUG_ROUTES === '1';
}

export const DEFAULT_ORIGIN_TIMEOUT_MS = 10_000;

/** Whole-request budget for origin calls, from the request's start (ORIGIN_TIMEOUT_MS, default 10 s). */
export function originTimeoutMs(env: Env): number {
  return positiveInt(env.ORIGIN_TIMEOUT_MS, DEFAULT_ORIGIN_TIMEOUT_MS);
}

/**
 * Largest image the edge forwards to the origin, by header dimensions: the origin's own default
 * (ORIGIN_MAX_PIXELS, 40 MP). A larger setting there still gets its images through the side limit.
 */
export const ORIGIN_MAX_IMAGE_PIXELS = 40_000_000;
