import type { RouteHandler } from '@hono/zod-openapi';
import type {
  BatchError,
  BatchJsonBody,
  BatchResponse,
  ClassifyParams,
  ClassifyResponse,
} from '../../shared/api/classify.ts';
import { errorEnvelope } from '../../shared/api/errors.ts';
import { ApiError } from '../../shared/http/errors.ts';
import { budgetConflict } from '../../shared/policy/budget.ts';
import { imageResultCache, waitUntil } from '../cache/session.ts';
import type { EdgeCompute } from '../compute.ts';
import { edgeConfig } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { ImageProbe } from '../image/probe.ts';
import { loadImageUrl } from '../image-url/load.ts';
import { type BatchEntry, batchInput } from './batch-input.ts';
import { callOriginBatch } from './batch-origin.ts';
import type { batchRoute } from './batch-route.ts';
import { probeChecked } from './image-checks.ts';
import { type ImageContext, type ImageStep, startImage } from './image-steps.ts';

// POST /v1/classify/batch. Each image takes the single-image way (image-steps.ts): the edge runs its
// model on each in turn (one isolate, one core: running them side by side would only share it), then
// every image that needs the origin goes there in one call, and each is finished with its own outcome.
// An image's own problem becomes its entry; what is wrong with the request as a whole is thrown:
//   whole request  no images or more than 16, body not matching the schema, parameters in two places,
//                  a latency budget with a tier, the images' bytes over BATCH_MAX_BYTES or their header
//                  pixels over BATCH_MAX_PIXELS (both known before anything is decoded)
//   one image      both or neither of image / image_url, bad base64, not an image, over a per-image
//                  limit, a refused or failed URL, the origin's failure policy for that image

type BatchContext = Parameters<RouteHandler<typeof batchRoute, AppEnv>>[0];

/** Where one image is on its way; `error` and `done` are final. */
type Slot =
  | { state: 'bytes'; bytes: Uint8Array }
  | { state: 'probed'; bytes: Uint8Array; probe: ImageProbe }
  | { state: 'waiting'; step: Extract<ImageStep, { kind: 'needs-origin' }> }
  | { state: 'done'; body: ClassifyResponse }
  | { state: 'error'; error: BatchError };

export const batchHandler =
  (compute: EdgeCompute): RouteHandler<typeof batchRoute, AppEnv> =>
  (c) =>
    classifyBatch(c, compute);

async function classifyBatch(c: BatchContext, compute: EdgeCompute) {
  const started = performance.now();
  const config = edgeConfig(c.env);
  const deadlineMs = Date.now() + config.originTimeoutMs;
  const requestId = c.get('requestId');
  const valid = {
    query: c.req.valid('query'),
    // As in handler.ts: the route typings know only the query when a route has several body types.
    json: c.req.valid('json' as never) as BatchJsonBody | undefined,
    form: c.req.valid('form' as never) as (ClassifyParams & { image: File[] }) | undefined,
  };
  const { entries, params } = await batchInput(c, valid, config);
  const conflict = budgetConflict(params);
  if (conflict) throw new ApiError('invalid_parameter', conflict);
  const fail = (error: unknown): Slot => ({ state: 'error', error: errorEntry(error, requestId) });

  checkTotalBytes(entries, config.batch.maxBytes);
  const slots = await Promise.all(entries.map((entry) => loadEntry(c.env, entry, fail)));
  capUrlBytes(slots, entries, config.batch.maxBytes, fail);

  // Header checks for every image before any is decoded, then the total pixels.
  for (const [i, slot] of slots.entries()) {
    if (slot.state !== 'bytes') continue;
    try {
      slots[i] = { state: 'probed', bytes: slot.bytes, probe: probeChecked(slot.bytes) };
    } catch (error) {
      slots[i] = fail(error);
    }
  }
  checkTotalPixels(slots, config.batch.maxPixels);

  const image: ImageContext = {
    env: c.env,
    compute,
    config,
    params,
    requestId,
    started,
    deadlineMs,
    // Each image is looked up and kept on its own (edge/cache); a hit shows as zero model timings.
    openCache: (bytes, plan) =>
      imageResultCache(
        c.env,
        compute.resultCache,
        {
          bytes,
          plan,
          topK: params.top_k,
          cache: params.cache,
          budgeted: params.latency_budget_ms !== undefined,
          ttlS: config.resultCacheTtlS,
        },
        (work) => waitUntil(c, work),
        { request_id: requestId },
      ),
  };
  for (const [i, slot] of slots.entries()) {
    if (slot.state !== 'probed') continue;
    try {
      const step = await startImage(image, slot.bytes);
      slots[i] = step.kind === 'answered' ? { state: 'done', body: step.body } : { state: 'waiting', step };
    } catch (error) {
      slots[i] = fail(error);
    }
  }

  const waiting = slots.flatMap((slot, i) => (slot.state === 'waiting' ? [{ i, step: slot.step }] : []));
  if (waiting.length > 0) {
    const outcomes = await callOriginBatch(
      c.env,
      waiting.map(({ step }) => step.origin),
      { topK: params.top_k, requestId },
    );
    for (const [j, { i, step }] of waiting.entries()) {
      try {
        const outcome = outcomes[j];
        if (!outcome) throw new Error('no origin outcome for an image');
        slots[i] = { state: 'done', body: await step.finish(outcome) };
      } catch (error) {
        slots[i] = fail(error);
      }
    }
  }

  const results = slots.map((slot) => {
    if (slot.state === 'done') return slot.body;
    if (slot.state === 'error') return slot.error;
    throw new Error(`batch image left in state ${slot.state}`);
  });
  const body: BatchResponse = { request_id: requestId, results };
  return c.json(body, 200);
}

/** Inline images (base64 or multipart) are all known now: their sum is checked before anything else. */
function checkTotalBytes(entries: readonly BatchEntry[], maxBytes: number): void {
  const total = entries.reduce((sum, entry) => sum + ('bytes' in entry ? entry.bytes.byteLength : 0), 0);
  if (total > maxBytes)
    throw new ApiError(
      'payload_too_large',
      `The images total ${total} bytes; a batch may carry at most ${maxBytes} (BATCH_MAX_BYTES).`,
    );
}

async function loadEntry(env: Env, entry: BatchEntry, fail: (error: unknown) => Slot): Promise<Slot> {
  if ('error' in entry) return fail(entry.error);
  if ('bytes' in entry) return { state: 'bytes', bytes: entry.bytes };
  try {
    return { state: 'bytes', bytes: await loadImageUrl(env, entry.url) };
  } catch (error) {
    return fail(error);
  }
}

/** Images fetched by URL count against the same total, in order; the one that passes it fails alone. */
function capUrlBytes(
  slots: Slot[],
  entries: readonly BatchEntry[],
  maxBytes: number,
  fail: (error: unknown) => Slot,
): void {
  let total = entries.reduce((sum, entry) => sum + ('bytes' in entry ? entry.bytes.byteLength : 0), 0);
  for (const [i, slot] of slots.entries()) {
    const entry = entries[i];
    if (!entry || !('url' in entry) || slot.state !== 'bytes') continue;
    total += slot.bytes.byteLength;
    if (total > maxBytes) {
      total -= slot.bytes.byteLength;
      slots[i] = fail(
        new ApiError(
          'image_too_large',
          `The image at this URL (${slot.bytes.byteLength} bytes) would take the batch over BATCH_MAX_BYTES (${maxBytes}).`,
        ),
      );
    }
  }
}

function checkTotalPixels(slots: readonly Slot[], maxPixels: number): void {
  const total = slots.reduce(
    (sum, slot) => sum + (slot.state === 'probed' ? slot.probe.width * slot.probe.height : 0),
    0,
  );
  if (total > maxPixels)
    throw new ApiError(
      'image_too_large',
      `The images total ${total} pixels by their headers; a batch may hold at most ${maxPixels} (BATCH_MAX_PIXELS).`,
    );
}

/** An image's own error as its entry: the envelope, its status and any Retry-After in seconds. */
function errorEntry(error: unknown, requestId: string): BatchError {
  if (error instanceof ApiError) {
    const retryAfter = Number(
      Object.entries(error.headers).find(([name]) => name.toLowerCase() === 'retry-after')?.[1],
    );
    return {
      status: error.status,
      ...errorEnvelope(error.code, error.message, requestId),
      ...(Number.isInteger(retryAfter) && retryAfter >= 0 ? { retry_after_s: retryAfter } : {}),
    };
  }
  console.error(JSON.stringify({ msg: 'batch image failed', request_id: requestId, error: String(error) }));
  return { status: 500, ...errorEnvelope('internal', 'Internal error.', requestId) };
}
