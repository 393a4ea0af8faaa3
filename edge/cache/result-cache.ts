// Reading and storing classify answers in the result cache. What is stored is the answer without what
// belongs to one request: no request_id, no timings, and never a degraded or budget-chosen answer.
import type { ClassifyResponse } from '../../shared/api/classify.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import type { CacheDetail } from './status.ts';
import type { ResultStore } from './store.ts';

/** A stored answer: the response less request_id, timings_ms and selection. */
export const CachedResultSchema = ClassifyResponseSchema.omit({
  request_id: true,
  timings_ms: true,
  selection: true,
});
export type CachedResult = ReturnType<typeof CachedResultSchema.parse>;

/** Epoch ms when the answer was stored: the Cache API keeps no age of its own that workerd returns. */
const STORED_AT = 'result-stored-at';

export interface CachedHit {
  result: CachedResult;
  /** Remaining freshness in seconds. */
  ttlS: number;
}

/** The stored answer under `key`, or undefined; an unreadable entry counts as a miss. */
export async function readCachedResult(store: ResultStore, key: string): Promise<CachedHit | undefined> {
  const response = await store.match(key);
  if (!response) return undefined;
  const parsed = CachedResultSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) return undefined;
  const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1] ?? 0);
  const storedAt = Number(response.headers.get(STORED_AT) ?? Number.NaN);
  const ageS = Number.isFinite(storedAt) ? Math.max(0, (Date.now() - storedAt) / 1000) : 0;
  return { result: parsed.data, ttlS: maxAge - ageS };
}

/**
 * Why an answer must not be stored, or undefined when it may be. Degraded answers stand in for an
 * unavailable origin; budget-chosen ones depend on how long this request took; an answer from a model
 * whose weights checksum is unknown could outlive a change of those weights.
 */
export function notStorable(
  body: ClassifyResponse,
  checksums: Readonly<Partial<Record<ModelId, string>>>,
): CacheDetail | undefined {
  if (body.degraded) return 'degraded';
  if (body.selection) return 'latency-budget';
  const models = [body.model, ...(body.edge ? [body.edge.model] : [])];
  if (models.some((model) => !(checksums as Record<string, string | undefined>)[model])) return 'no-checksum';
  return undefined;
}

/** Stores the answer under `key` for ttlS seconds (the caller checked notStorable first). */
export async function storeResult(
  store: ResultStore,
  key: string,
  body: ClassifyResponse,
  ttlS: number,
): Promise<void> {
  const { request_id: _id, timings_ms: _timings, selection: _selection, ...result } = body;
  await store.put(
    key,
    new Response(JSON.stringify(result satisfies CachedResult), {
      headers: {
        'content-type': 'application/json',
        'cache-control': `max-age=${ttlS}`,
        [STORED_AT]: String(Date.now()),
      },
    }),
  );
}

/** A fresh response from a stored answer: this request's id, and timings of this request (no model ran). */
export function answerFromCache(result: CachedResult, requestId: string, totalMs: number): ClassifyResponse {
  return {
    request_id: requestId,
    ...result,
    timings_ms: { decode: 0, preprocess: 0, inference: 0, total: Math.round(totalMs * 100) / 100 },
  };
}
