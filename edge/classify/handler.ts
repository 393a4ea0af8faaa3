import type { RouteHandler } from '@hono/zod-openapi';
import type { ClassifyParams } from '../../shared/api/classify.ts';
import {
  afterEdge,
  type OriginBoundPlan,
  onOriginFailure,
  planRoute,
} from '../../shared/policy/escalation.ts';
import type { Tier } from '../../shared/policy/tiers.ts';
import type { EdgeCompute } from '../compute.ts';
import { edgeConfig, ORIGIN_MAX_IMAGE_PIXELS } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { ImageProbe } from '../image/probe.ts';
import { type AnswerContext, degradedAnswer, type EdgeWork, edgeAnswer, originAnswer } from './answers.ts';
import { checkLimits, edgeImageLimits, fitsLimits, imageLimits, probeChecked } from './image-checks.ts';
import { classifyInput } from './input.ts';
import { callOrigin, failureOf, failWith, type OriginOutcome, relayRejection } from './origin-call.ts';
import type { classifyRoute } from './route.ts';

// Routing follows shared/policy/escalation.ts (docs/tiers.md): the edge answers fast/balanced and edge
// models; auto runs B0 and escalates to the origin below min_confidence; accurate, max, origin models
// and auto with an image over the edge's limits go to the origin without edge compute. The handler
// follows the one plan planRoute makes. Every image limit is checked from the headers before a model
// loads or a byte leaves for the origin. Decoding and inference come in as `compute` (WASM in the Worker).

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
  const edgeLimits = edgeImageLimits(config.maxBodyBytes, config.maxImagePixels);
  const originLimits = imageLimits(config.maxBodyBytes, ORIGIN_MAX_IMAGE_PIXELS);
  const probe = probeChecked(bytes);
  const plan = planRoute(params, config.policy, { fitsEdge: fitsLimits(probe, edgeLimits) });
  const answer: AnswerContext = { requestId: c.get('requestId'), topK: params.top_k, started };

  const runEdge = async (model: EdgeWork['run']['model']): Promise<EdgeWork> => {
    const decodeStarted = performance.now();
    const image = await compute.decode(bytes, probe);
    const decodeMs = performance.now() - decodeStarted;
    return { run: await compute.runModel(c.env, model, image, params.top_k), decodeMs };
  };

  if (plan.kind === 'edge') {
    const hint = fitsLimits(probe, originLimits)
      ? '; tier auto or accurate sends images this large to the GPU origin'
      : '';
    checkLimits(probe, edgeLimits, hint);
    return c.json(edgeAnswer(answer, plan.tier, await runEdge(plan.edgeModel)), 200);
  }

  let edge: EdgeWork | undefined;
  if (plan.kind === 'edge-then-origin') {
    edge = await runEdge(plan.edgeModel);
    if (afterEdge(plan, edge.run.top1) === 'answer')
      return c.json({ ...edgeAnswer(answer, plan.tier, edge), escalated: false }, 200);
  } else {
    checkLimits(probe, originLimits);
  }

  const result = await callOrigin(c.env, {
    bytes,
    contentType: probe.type,
    model: plan.originModel,
    topK: params.top_k,
    requestId: answer.requestId,
    deadlineMs,
  });
  if (result.ok) return c.json(originAnswer(answer, plan.tier, result, result.elapsedMs, edge), 200);

  const outcome = onOriginFailure(plan, failureOf(result), config.policy);
  logOriginFailure(answer.requestId, plan.tier, result, outcome.action);
  if (outcome.action === 'relay') relayRejection(result);
  if (outcome.action === 'degrade') {
    if (outcome.runEdge || !edge) {
      // The fallback runs on the edge, so the edge's limits apply to it.
      checkLimits(
        probe,
        edgeLimits,
        `; the origin is unavailable (${outcome.reason}) and the edge cannot take an image this large`,
      );
      edge = await runEdge(outcome.edgeModel);
    }
    return c.json(degradedAnswer(answer, plan.tier, edge, outcome.reason, result.elapsedMs), 200);
  }
  return failWith(
    outcome.code,
    failMessage(plan, params.model === undefined, probe, result, outcome.message),
    outcome.retryAfterS,
  );
}

/** The policy's message, made specific where the edge knows more than the policy does. */
function failMessage(
  plan: OriginBoundPlan,
  byTier: boolean,
  probe: ImageProbe,
  result: Extract<OriginOutcome, { ok: false }>,
  policyMessage: string,
): string {
  // Tier auto fails (rather than degrades) only when the image was too large for the edge to try.
  if (byTier && plan.tier === 'auto') {
    if (result.kind === 'busy')
      return `The ${probe.width}x${probe.height} image is over the edge's pixel budget, so tier auto needs ${plan.originModel} on the GPU origin, whose queue is full; retry after the Retry-After delay.`;
    return `The ${probe.width}x${probe.height} image is over the edge's pixel budget, so tier auto needs ${plan.originModel} on the GPU origin, which is unavailable (${result.kind === 'not_configured' ? result.message : result.kind}).`;
  }
  if (result.kind === 'not_configured')
    return `${policyMessage.replace(/\.$/, '')}. The GPU origin is not configured: ${result.message}.`;
  return policyMessage;
}

function logOriginFailure(
  requestId: string,
  tier: Tier,
  result: Extract<OriginOutcome, { ok: false }>,
  action: string,
): void {
  console.warn(
    JSON.stringify({
      msg: 'origin failed',
      request_id: requestId,
      tier,
      kind: result.kind,
      action,
      detail: result.message,
    }),
  );
}
