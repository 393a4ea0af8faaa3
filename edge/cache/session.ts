// The result cache around one image's classification: look up before any model runs, answer a hit,
// otherwise hand the fresh answer to the cache after the response (waitUntil). Sets Cache-Status on the
// context, so every response this request produces from here on, errors included, carries it.
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

export interface ResultCacheSession {
  /** The stored answer, when the lookup found one. */
  hit: CachedHit | undefined;
  /** The hit as this request's response (its request_id, its own total time). */
  answer(ctx: AnswerContext): ClassifyResponse;
  /** Marks a fresh answer in Cache-Status and stores it after the response when it may be stored. */
  keep(body: ClassifyResponse): ClassifyResponse;
}

export async function openResultCache(
  c: Context<AppEnv>,
  deps: ResultCacheDeps | undefined,
  request: ResultCacheRequest,
): Promise<ResultCacheSession> {
  const setStatus = (outcome: CacheOutcome) => c.header(CACHE_STATUS, cacheStatus(outcome));
  const bypass = (detail: CacheDetail): ResultCacheSession => {
    setStatus({ kind: 'bypass', detail });
    return { hit: undefined, answer: noHit, keep: (body) => body };
  };
  if (request.ttlS === 0) return bypass('disabled');
  const store = await deps?.store();
  if (!deps || !store) return bypass('unavailable');
  if (request.cache === false) return bypass('cache-false');
  if (request.budgeted) return bypass('latency-budget');

  const models = planModels(request.plan);
  const [imageSha, ...sums] = await Promise.all([
    imageSha256(request.bytes),
    ...models.map((model) => deps.checksumOf(c.env, model)),
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

  const hit = await readCachedResult(store, key).catch((error: unknown) => {
    logCacheError(c, 'match', error);
    return undefined;
  });
  if (hit) {
    setStatus({ kind: 'hit', ttlS: hit.ttlS });
    return {
      hit,
      answer: (ctx) => answerFromCache(hit.result, ctx.requestId, performance.now() - ctx.started),
      keep: (body) => body,
    };
  }
  // Until an answer is kept, the response (an error, say) is a miss that is not stored.
  setStatus({ kind: 'miss', stored: false });
  return {
    hit: undefined,
    answer: noHit,
    keep: (body) => {
      const reason = notStorable(body, checksums);
      setStatus(reason ? { kind: 'miss', stored: false, detail: reason } : { kind: 'miss', stored: true });
      if (!reason)
        afterResponse(
          c,
          storeResult(store, key, body, request.ttlS).catch((error: unknown) =>
            logCacheError(c, 'put', error),
          ),
        );
      return body;
    },
  };
}

function noHit(): never {
  throw new Error('the result cache has no hit for this request');
}

/** waitUntil where the runtime gives an execution context; in-process callers without one just let it run. */
function afterResponse(c: Context<AppEnv>, work: Promise<void>): void {
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined;
  }
  ctx?.waitUntil(work);
}

function logCacheError(c: Context<AppEnv>, operation: string, error: unknown): void {
  console.error(
    JSON.stringify({
      msg: 'result cache error',
      operation,
      request_id: c.get('requestId'),
      error: String(error),
    }),
  );
}
