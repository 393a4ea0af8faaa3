import { Hono, type HonoRequest } from 'hono';
import {
  ClassifyJsonBodySchema,
  type ClassifyParams,
  ClassifyParamsSchema,
  type ClassifyResponse,
  type Selection,
} from '../../shared/api/classify.ts';
import { describeIssues } from '../../shared/api/errors.ts';
import { labelOffsetFor } from '../../shared/catalog/labels.ts';
import { ApiError } from '../../shared/http/errors.ts';
import { TIER_MODEL } from '../../shared/policy/escalation.ts';
import type { Tier } from '../../shared/policy/tiers.ts';
import { softmax, topK } from '../../shared/scores/ranking.ts';
import type { Reservation } from '../batching/batcher.ts';
import type { AppEnv } from '../http/env.ts';
import { decodeBase64Image } from '../image/base64.ts';
import type { DecodeLimits } from '../image/decode.ts';
import type { Prepared } from '../image/prepare.ts';
import type { Preparer } from '../image/preprocess-pool.ts';
import { fetchOriginImageUrl, type OriginImageUrlOptions } from '../image-url/fetch.ts';
import type { ModelRegistry, ServedModel } from '../models/registry.ts';
import { asApiError } from './batch-errors.ts';
import { checkBudgetConflict, chooseByBudget, deadlineWithBudget } from './budget.ts';
import { DEADLINE_HEADER, deadlineFrom, requireTimeLeft } from './deadline.ts';

export interface ClassifyRouteOptions {
  registry: ModelRegistry;
  limits: DecodeLimits;
  preparer: Preparer;
  defaultDeadlineMs: number;
  imageUrl: Omit<OriginImageUrlOptions, 'maxBytes'>;
}

// The origin is where auto escalates to, so auto (and no tier) means the accurate model here
// (shared/policy's TIER_MODEL).
function tierOfModel(id: string): Tier {
  const entry = Object.entries(TIER_MODEL).find(([tier, model]) => model === id && tier !== 'auto');
  return entry ? (entry[0] as Tier) : 'accurate';
}

interface Chosen {
  model: ServedModel;
  tier: Tier;
  selection?: Selection;
}

function byBudget(registry: ModelRegistry, budgetMs: number, leftMs: number): Chosen {
  const { model, selection } = chooseByBudget(registry, budgetMs, leftMs);
  return { model, tier: tierOfModel(model.manifest.id), selection };
}

export function chooseModel(registry: ModelRegistry, params: ClassifyParams): Chosen {
  if (params.model !== undefined) {
    const model = registry.get(params.model);
    if (!model) throw new ApiError('model_unavailable', `${params.model} is not served by this origin.`);
    return { model, tier: params.tier ?? tierOfModel(params.model) };
  }
  const tier = params.tier ?? 'accurate';
  const model = registry.get(TIER_MODEL[tier]);
  if (!model)
    throw new ApiError(
      'tier_unavailable',
      `Tier ${tier} needs ${TIER_MODEL[tier]}, which this origin does not serve.`,
    );
  return { model, tier };
}

async function readRequest(
  req: HonoRequest,
  limits: DecodeLimits,
  imageUrl: ClassifyRouteOptions['imageUrl'],
  deadlineAt: number,
): Promise<{ params: ClassifyParams; image: Uint8Array }> {
  const type = req.header('content-type') ?? '';
  if (type.toLowerCase().startsWith('application/json')) {
    let json: unknown;
    try {
      json = await req.json();
    } catch {
      throw new ApiError('invalid_request', 'The JSON body cannot be parsed.');
    }
    const parsed = ClassifyJsonBodySchema.safeParse(json);
    if (!parsed.success) throw new ApiError('invalid_parameter', describeIssues(parsed.error.issues));
    // The schema lets exactly one of image and image_url through.
    const { image, image_url: url, ...params } = parsed.data;
    if (url !== undefined) {
      // The fetch ends by the request's deadline too: no point fetching what cannot be classified in time.
      const timeoutMs = Math.max(1, Math.min(imageUrl.timeoutMs, deadlineAt - performance.now()));
      const fetched = await fetchOriginImageUrl(url, { ...imageUrl, timeoutMs, maxBytes: limits.maxBytes });
      return { params, image: fetched };
    }
    return { params, image: decodeBase64Image(image ?? '', limits.maxBytes) };
  }
  const parsed = ClassifyParamsSchema.safeParse(req.query());
  if (!parsed.success) throw new ApiError('invalid_parameter', describeIssues(parsed.error.issues));
  return { params: parsed.data, image: new Uint8Array(await req.arrayBuffer()) };
}

/** One image's answer from its logits; timings in ms, rounded here. */
export function classifyResponse(
  requestId: string,
  model: ServedModel,
  tier: Tier,
  k: number,
  logits: Float32Array,
  timings: ClassifyResponse['timings_ms'],
): ClassifyResponse {
  const offset = labelOffsetFor(model.manifest.classes);
  const predictions = topK(softmax(logits), k, offset).map(({ index, score }) => ({
    ...model.label(index),
    score,
  }));
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    request_id: requestId,
    model: model.manifest.id,
    tier,
    weights: model.manifest.weights,
    predictions,
    timings_ms: {
      decode: round(timings.decode),
      preprocess: round(timings.preprocess),
      inference: round(timings.inference),
      total: round(timings.total),
    },
  };
}

export function classifyRoutes(options: ClassifyRouteOptions) {
  const app = new Hono<AppEnv>();
  app.post('/v1/classify', async (c) => {
    const arrivedAt = performance.now();
    const headerDeadline = deadlineFrom(c.req.header(DEADLINE_HEADER), arrivedAt, options.defaultDeadlineMs);
    requireTimeLeft(headerDeadline, arrivedAt, c.req.raw);
    const { params, image } = await readRequest(c.req, options.limits, options.imageUrl, headerDeadline);
    checkBudgetConflict(params);
    const budgetMs = params.latency_budget_ms;
    const deadlineAt = deadlineWithBudget(headerDeadline, arrivedAt, budgetMs);
    const { model, tier, selection } =
      budgetMs === undefined
        ? chooseModel(options.registry, params)
        : byBudget(options.registry, budgetMs, deadlineAt - performance.now());

    // Admission before work: the deadline and a place in the model's queue, before the image is decoded.
    let place: Reservation;
    try {
      place = model.batcher.reserve(1, deadlineAt);
    } catch (error) {
      throw asApiError(error);
    }
    let prepared: Prepared;
    try {
      prepared = await options.preparer.prepare(image, model.spec, options.limits, deadlineAt);
    } catch (error) {
      place.release();
      throw error;
    }
    const { tensor, decodeMs, preprocessMs } = prepared;
    const inferenceStart = performance.now();
    let logits: Float32Array;
    try {
      logits = await place.submit(tensor);
    } catch (error) {
      throw asApiError(error);
    }
    const done = performance.now();

    const body = classifyResponse(c.get('requestId'), model, tier, params.top_k, logits, {
      decode: decodeMs,
      preprocess: preprocessMs,
      inference: done - inferenceStart,
      total: done - arrivedAt,
    });
    if (selection) body.selection = selection;
    return c.json(body);
  });
  return app;
}
