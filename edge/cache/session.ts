// The result cache around one image's classification: look up before any model runs, answer a hit,
// otherwise hand the fresh answer to the cache after the response (waitUntil).
// `imageResultCache` is the per-image core (no HTTP context: a batch calls it once per image and reports
// each outcome); `openResultCache` is the single-image route's use of it, which also keeps the
// Cache-Status header of the context current, so every response from there on (errors too) carries it.
import type { Context } from 'hono';
import type { ClassifyResponse } from '../../shared/api/classify.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import type { Plan } from '../../shared/policy/escalation.ts';
import type { AnswerContext } from '../classify/answers.ts';
import type { AppEnv } from '../http/app-env.ts';
import { imageSha256, planModels, resultCacheKey } from './key.ts';
import {
  answerFromCache,
  type CachedHit,
  notStorable,
  readCachedResult,
  storeResult,
} from './result-cache.ts';
import { type CacheDetail, type CacheOutcome, cacheStatus } from './status.ts';
import type { ResultStore } from './store.ts';

export const CACHE_STATUS = 'Cache-Status';

/** What the app gets from its runtime for the result cache (edge/index.ts: the Cache API and R2). */
export interface ResultCacheDeps {
  /** The store, or undefined where the runtime has no Cache API. */
  store(): Promise<ResultStore> | ResultStore | undefined;
  /** The weights checksum of a model (undefined: unknown, so its answers are not stored). */
  checksumOf(env: Env, model: ModelId): Promise<string | undefined>;
}

export interface ResultCacheRequest {
  bytes: Uint8Array;
  plan: Plan;
  topK: number;
  /** The request's `cache` parameter: false means no lookup and no store. */
  cache: boolean | undefined;
  /** latency_budget_ms was sent: the answer depends on this request's timing, so it is not cached. */
  budgeted: boolean;
  /** RESULT_CACHE_TTL_S; 0 turns the cache off. */
  ttlS: number;
}

export interface ImageResultCache {
  /** The stored answer, when the lookup found one. */
  hit: CachedHit | undefined;
  /** The hit as this request's response (its request_id, its own total time); throws without a hit. */
  answer(ctx: AnswerContext): ClassifyResponse;
  /** Hands a fresh answer to the cache when it may be stored; returns it unchanged. */
  keep(body: ClassifyResponse): ClassifyResponse;
  /** What happened so far, for Cache-Status (cacheStatus(outcome())). */
  outcome(): CacheOutcome;
}

/** Where a store runs: after the response (`waitUntil`). */
export type AfterResponse = (work: Promise<void>) => void;

/**
 * Looks one image up. Errors of the store are logged (with `context`, e.g. the request id) and count as
 * a miss: the cache never fails a request the models can answer.
 */
export async function imageResultCache(
  env: Env,
  deps: ResultCacheDeps | undefined,
  request: ResultCacheRequest,
  afterResponse: AfterResponse,
  context: Record<string, string> = {},
): Promise<ImageResultCache> {
  const bypass = (detail: CacheDetail): ImageResultCache => ({
    hit: undefined,
    answer: noHit,
    keep: (body) => body,
    outcome: () => ({ kind: 'bypass', detail }),
  });
  if (request.ttlS === 0) return bypass('disabled');
  const store = await deps?.store();
  if (!deps || !store) return bypass('unavailable');
  if (request.cache === false) return bypass('cache-false');
  if (request.budgeted) return bypass('latency-budget');

  const models = planModels(request.plan);
  const [imageSha, ...sums] = await Promise.all([
    imageSha256(request.bytes),
    ...models.map((model) => deps.checksumOf(env, model)),
  ]);
  const checksums: Partial<Record<ModelId, string>> = {};
  models.forEach((model, i) => {
    const sum = sums[i];
    if (sum) checksums[model] = sum;
  });
  const key = await resultCacheKey({
    imageSha256: imageSha as string,
    plan: request.plan,
    topK: request.topK,
    checksums,
  });
  const logError = (operation: string, error: unknown) =>
    console.error(JSON.stringify({ msg: 'result cache error', ...context, operation, error: String(error) }));

  const hit = await readCachedResult(store, key).catch((error: unknown) => {
    logError('match', error);
    return undefined;
  });
  if (hit)
    return {
      hit,
      answer: (ctx) => answerFromCache(hit.result, ctx.requestId, performance.now() - ctx.started),
      keep: (body) => body,
      outcome: () => ({ kind: 'hit', ttlS: hit.ttlS }),
    };
  // Until an answer is kept, the outcome (of an error, say) is a miss that is not stored.
  let outcome: CacheOutcome = { kind: 'miss', stored: false };
  return {
    hit: undefined,
    answer: noHit,
    keep: (body) => {
      const reason = notStorable(body, checksums);
      outcome = reason ? { kind: 'miss', stored: false, detail: reason } : { kind: 'miss', stored: true };
      if (!reason)
        afterResponse(storeResult(store, key, body, request.ttlS).catch((error) => logError('put', error)));
      return body;
    },
    outcome: () => outcome,
  };
}

/** The single-image route: imageResultCache with Cache-Status kept on the context and waitUntil stores. */
export async function openResultCache(
  c: Context<AppEnv>,
  deps: ResultCacheDeps | undefined,
  request: ResultCacheRequest,
): Promise<ImageResultCache> {
  const cache = await imageResultCache(c.env, deps, request, (work) => waitUntil(c, work), {
    request_id: c.get('requestId'),
  });
  const setStatus = () => c.header(CACHE_STATUS, cacheStatus(cache.outcome()));
  setStatus();
  return {
    ...cache,
    keep: (body) => {
      const kept = cache.keep(body);
      setStatus();
      return kept;
    },
  };
}

function noHit(): never {
  throw new Error('the result cache has no hit for this request');
}

/** waitUntil where the runtime gives an execution context; in-process callers without one just let it run. */
export function waitUntil(c: Context, work: Promise<unknown>): void {
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined;
  }
  ctx?.waitUntil(work);
}
