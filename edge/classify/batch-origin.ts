// The origin part of a batch: every image that needs the origin goes in one signed call per model (one
// in practice: the request's parameters name the model), and each gets its own outcome back, as if it had
// been sent alone, so the per-image failure policy (image-steps.ts) applies unchanged.

import { originFor } from '../origin/from-env.ts';
import { interpretBatchEntry } from '../origin/interpret.ts';
import { overheadMs } from '../origin/round-trip.ts';
import type { OriginNeed } from './image-steps.ts';
import { type OriginOutcome, toOwnedBytes } from './origin-call.ts';

export interface BatchCall {
  topK: number;
  requestId: string;
}

/** One outcome per need, in the same order. */
export async function callOriginBatch(
  env: Env,
  needs: readonly OriginNeed[],
  call: BatchCall,
): Promise<OriginOutcome[]> {
  const outcomes: OriginOutcome[] = new Array(needs.length);
  const byModel = new Map<string, number[]>();
  needs.forEach((need, i) => {
    byModel.set(need.model, [...(byModel.get(need.model) ?? []), i]);
  });
  await Promise.all(
    [...byModel.values()].map(async (indexes) => {
      const group = indexes.map((i) => needs[i] as OriginNeed);
      const results = await callOneModel(env, group, call);
      indexes.forEach((at, j) => {
        outcomes[at] = results[j] as OriginOutcome;
      });
    }),
  );
  return outcomes;
}

async function callOneModel(env: Env, needs: OriginNeed[], call: BatchCall): Promise<OriginOutcome[]> {
  const started = performance.now();
  const access = originFor(env);
  if (!access.client)
    return needs.map(() => ({ ok: false, kind: 'not_configured', message: access.reason, elapsedMs: 0 }));
  const model = (needs[0] as OriginNeed).model;
  const result = await access.client.classifyBatch(
    needs.map((need) => ({ bytes: toOwnedBytes(need.bytes), contentType: need.contentType })),
    {
      model,
      top_k: call.topK,
      requestId: call.requestId,
      // The images share the request's deadline; a budget may have lengthened it for some.
      deadlineMs: Math.max(...needs.map((need) => need.deadlineMs)),
    },
  );
  const elapsedMs = performance.now() - started;
  console.log(
    JSON.stringify({
      msg: 'origin batch call',
      request_id: call.requestId,
      model,
      images: needs.length,
      outcome: result.ok ? 'ok' : result.kind,
      ms: Math.round(elapsedMs),
    }),
  );
  if (!result.ok) return needs.map(() => ({ ...result, elapsedMs }));
  const totals = result.results.flatMap((entry) => ('timings_ms' in entry ? [entry.timings_ms.total] : []));
  if (totals.length > 0) access.roundTrip.observe(overheadMs(elapsedMs, Math.max(...totals)));
  return result.results.map((entry) => ({ ...interpretBatchEntry(entry, result.attempts), elapsedMs }));
}
