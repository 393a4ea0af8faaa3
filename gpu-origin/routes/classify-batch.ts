// POST /v1/classify/batch: several images for one model in one (signed) call, multipart/form-data with
// repeated `image` fields and the parameters in the query, as on POST /v1/classify. The edge sends the
// images it cannot answer itself here in one call. All of them are admitted at once (places in the
// model's queue, before anything is decoded), prepared in the preprocess pool, then queued together so
// that the dynamic batcher runs them as one batch (or as few as ORIGIN_MAX_BATCH allows).
//
// The answer is { request_id, results } in the order sent; an image that cannot be decoded gets its own
// error entry ({ status, error }) and the others still answer. What concerns the whole call (parameters,
// model, admission, deadline) is the usual error envelope.
import { Hono, type HonoRequest } from 'hono';
import {
  type BatchError,
  type BatchResponse,
  type ClassifyParams,
  ClassifyParamsSchema,
  MAX_BATCH_IMAGES,
} from '../../shared/api/classify.ts';
import { describeIssues, ERROR_STATUS, errorEnvelope } from '../../shared/api/errors.ts';
import { ApiError } from '../../shared/http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { asApiError } from './batch-errors.ts';
import { type ClassifyRouteOptions, chooseModel, classifyResponse } from './classify.ts';
import { DEADLINE_HEADER, deadlineFrom, requireTimeLeft } from './deadline.ts';

export const ORIGIN_BATCH_PATH = '/v1/classify/batch';

async function readBatch(req: HonoRequest): Promise<{ params: ClassifyParams; images: Uint8Array[] }> {
  const parsed = ClassifyParamsSchema.safeParse(req.query());
  if (!parsed.success) throw new ApiError('invalid_parameter', describeIssues(parsed.error.issues));
  const type = (req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'multipart/form-data')
    throw new ApiError(
      'unsupported_media_type',
      'Send the images as multipart/form-data, one `image` field each.',
    );
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw new ApiError('invalid_request', 'The multipart body cannot be parsed.');
  }
  let other: string | undefined;
  form.forEach((_value, key) => {
    if (key !== 'image') other ??= key;
  });
  if (other !== undefined)
    throw new ApiError('invalid_parameter', `Unknown field "${other}"; parameters go in the query.`);
  const fields = form.getAll('image');
  if (fields.length < 1 || fields.length > MAX_BATCH_IMAGES)
    throw new ApiError(
      'invalid_request',
      `Send from 1 to ${MAX_BATCH_IMAGES} images per call (got ${fields.length}).`,
    );
  const images: Uint8Array[] = [];
  for (const field of fields) {
    if (typeof field === 'string')
      throw new ApiError('invalid_request', 'Each `image` field must be a file part.');
    images.push(new Uint8Array(await field.arrayBuffer()));
  }
  return { params: parsed.data, images };
}

function errorEntry(error: unknown, requestId: string, log: (line: string) => void): BatchError {
  const known = asApiError(error);
  if (known instanceof ApiError) {
    const retryAfter = Number(known.headers['retry-after']);
    return {
      status: known.status,
      ...errorEnvelope(known.code, known.message, requestId),
      ...(Number.isInteger(retryAfter) && retryAfter >= 0 ? { retry_after_s: retryAfter } : {}),
    };
  }
  log(JSON.stringify({ msg: 'batch image failed', request_id: requestId, error: String(error) }));
  return { status: ERROR_STATUS.internal, ...errorEnvelope('internal', 'Internal error.', requestId) };
}

export function classifyBatchRoutes(options: ClassifyRouteOptions & { log: (line: string) => void }) {
  const app = new Hono<AppEnv>();
  app.post(ORIGIN_BATCH_PATH, async (c) => {
    const arrivedAt = performance.now();
    const deadlineAt = deadlineFrom(c.req.header(DEADLINE_HEADER), arrivedAt, options.defaultDeadlineMs);
    requireTimeLeft(deadlineAt, arrivedAt, c.req.raw);
    const requestId = c.get('requestId');
    const { params, images } = await readBatch(c.req);
    const { model, tier } = chooseModel(options.registry, params);

    // Admission before work: a place in the model's queue for every image, or none at all.
    let place: ReturnType<typeof model.batcher.reserve>;
    try {
      place = model.batcher.reserve(images.length, deadlineAt);
    } catch (error) {
      throw asApiError(error);
    }
    const results: BatchResponse['results'] = [];
    try {
      const prepared = await Promise.allSettled(
        images.map((bytes) => options.preparer.prepare(bytes, model.spec, options.limits, deadlineAt)),
      );
      // Queued in one go, so the batcher sees them together rather than as they finish decoding.
      const inferenceStart = performance.now();
      const inferred = prepared.map((outcome) =>
        outcome.status === 'fulfilled'
          ? place.submit(outcome.value.tensor).then((logits) => ({ logits, done: performance.now() }))
          : Promise.reject(outcome.reason),
      );
      const settled = await Promise.allSettled(inferred);
      settled.forEach((outcome, i) => {
        const ready = prepared[i];
        if (outcome.status === 'rejected' || ready?.status !== 'fulfilled') {
          const reason = outcome.status === 'rejected' ? outcome.reason : undefined;
          results.push(errorEntry(reason, requestId, options.log));
          return;
        }
        const { logits, done } = outcome.value;
        results.push(
          classifyResponse(requestId, model, tier, params.top_k, logits, {
            decode: ready.value.decodeMs,
            preprocess: ready.value.preprocessMs,
            inference: done - inferenceStart,
            total: done - arrivedAt,
          }),
        );
      });
    } finally {
      place.release();
    }
    const body: BatchResponse = { request_id: requestId, results };
    return c.json(body);
  });
  return app;
}
