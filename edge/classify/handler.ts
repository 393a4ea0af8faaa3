import type { RouteHandler } from '@hono/zod-openapi';
import type { ClassifyParams } from '../../shared/api/classify.ts';
import { ApiError } from '../../shared/http/errors.ts';
import { budgetConflict } from '../../shared/policy/budget.ts';
import { openResultCache } from '../cache/session.ts';
import type { EdgeCompute } from '../compute.ts';
import { edgeConfig } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';
import { classifyImage, type ImageContext } from './image-steps.ts';
import { classifyInput } from './input.ts';
import type { classifyRoute } from './route.ts';

// POST /v1/classify: one image. The image's way through the edge and to the origin (plan, edge run,
// escalation, failure policy) is in image-steps.ts, which POST /v1/classify/batch shares.

type ClassifyContext = Parameters<RouteHandler<typeof classifyRoute, AppEnv>>[0];

export const classifyHandler =
  (compute: EdgeCompute): RouteHandler<typeof classifyRoute, AppEnv> =>
  (c) =>
    classify(c, compute);

async function classify(c: ClassifyContext, compute: EdgeCompute) {
  const started = performance.now();
  const config = edgeConfig(c.env);
  const deadlineMs = Date.now() + config.originTimeoutMs;
  const valid = {
    query: c.req.valid('query'),
    // zod-openapi validated whichever body form the Content-Type named; its route typings only know
    // the query when a route declares several body media types.
    json: c.req.valid('json' as never) as (ClassifyParams & { image: string }) | undefined,
    form: c.req.valid('form' as never) as (ClassifyParams & { image: File }) | undefined,
  };
  const { image: bytes, params } = await classifyInput(c, valid);
  const conflict = budgetConflict(params);
  if (conflict) throw new ApiError('invalid_parameter', conflict);
  const image: ImageContext = {
    env: c.env,
    compute,
    config,
    params,
    requestId: c.get('requestId'),
    started,
    deadlineMs,
    // edge/cache: a stored answer for these bytes and this plan skips all model work; fresh ones are kept,
    // and the route's Cache-Status header follows (errors too).
    openCache: (imageBytes, plan) =>
      openResultCache(c, compute.resultCache, {
        bytes: imageBytes,
        plan,
        topK: params.top_k,
        cache: params.cache,
        budgeted: params.latency_budget_ms !== undefined,
        ttlS: config.resultCacheTtlS,
      }),
  };
  return c.json(await classifyImage(image, bytes), 200);
}
