import type { RouteHandler } from '@hono/zod-openapi';
import type { ClassifyParams } from '../../shared/api/classify.ts';
import {
  afterEdge,
  type EscalatingPlan,
  type OriginPlan,
  onOriginFailure,
  planRoute,
} from '../../shared/policy/escalation.ts';
import type { Tier } from '../../shared/policy/tiers.ts';
import { edgeConfig, ORIGIN_MAX_IMAGE_PIXELS } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { ImageProbe } from '../image/index.ts';
import { type AnswerContext, degradedAnswer, type EdgeWork, edgeAnswer, originAnswer } from './answers.ts';
import { runEdgeModel } from './edge-run.ts';
import { checkLimits, decodeProbed, fitsLimits, imageLimits, probeChecked } from './image-tensor.ts';
import { classifyInput } from './input.ts';
import { callOrigin, failureOf, failWith, type OriginOutcome, relayRejection } from './origin-call.ts';
import type { classifyRoute } from './route.ts';

// Routing follows shared/policy/escalation.ts (docs/tiers.md): the edge answers fast/balanced and edge
// models; auto runs B0 and escalates to the origin below min_confidence; accurate, max and origin models
// go to the origin without edge compute. Every image limit is checked from the headers before a model
// loads or a byte leaves for the origin.

export const classifyHandler: RouteHandler<typeof classifyRoute, AppEnv> = async (c) => {
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
  const defaults = config.policy;
  const plan = planRoute(params, defaults);
  const edgeLimits = imageLimits(config.maxBodyBytes, config.maxImagePixels);
  const originLimits = imageLimits(config.maxBodyBytes, ORIGIN_MAX_IMAGE_PIXELS);
  const probe = probeChecked(bytes);
  const answer: AnswerContext = { requestId: c.get('requestId'), topK: params.top_k, started };

  const runEdge = async (model: EdgeWork['run']['model']): Promise<EdgeWork> => {
    const decodeStarted = performance.now();
    const image = await decodeProbed(bytes, probe);
    const decodeMs = performance.now() - decodeStarted;
    return { run: await runEdgeModel(c.env, model, image, params.top_k), decodeMs };
  };
  const origin = (model: OriginPlan['originModel']) =>
    callOrigin(c.env, {
      bytes,
      contentType: probe.type,
      model,
      topK: params.top_k,
      requestId: answer.requestId,
      deadlineMs,
    });

  if (plan.kind === 'edge') {
    const hint = fitsLimits(probe, originLimits)
      ? '; tier auto or accurate sends images this large to the GPU origin'
      : '';
    checkLimits(probe, edgeLimits, hint);
    return c.json(edgeAnswer(answer, plan.tier, await runEdge(plan.edgeModel)), 200);
  }

  if (plan.kind === 'edge-then-origin' && fitsLimits(probe, edgeLimits)) {
    const edge = await runEdge(plan.edgeModel);
    if (afterEdge(plan, edge.run.top1) === 'answer')
      return c.json({ ...edgeAnswer(answer, plan.tier, edge), escalated: false }, 200);
    const result = await origin(plan.originModel);
    if (result.ok) return c.json(originAnswer(answer, plan.tier, result, result.elapsedMs, edge), 200);
    const reason = degradeReason(plan, result);
    logOriginFailure(answer.requestId, plan.tier, result, 'degraded');
    return c.json(degradedAnswer(answer, plan.tier, edge, reason, result.elapsedMs), 200);
  }

  // Origin first: accurate, max, an origin model, or auto with an image over the edge's pixel budget
  // (which the edge could not have classified, so there is no edge answer to fall back on).
  checkLimits(probe, originLimits);
  const originPlan: OriginPlan =
    plan.kind === 'origin'
      ? plan
      : { kind: 'origin', tier: plan.tier, originModel: plan.originModel, degradedModel: null };
  const result = await origin(originPlan.originModel);
  if (result.ok) return c.json(originAnswer(answer, plan.tier, result, result.elapsedMs, undefined), 200);

  const outcome = onOriginFailure(originPlan, failureOf(result), defaults);
  logOriginFailure(answer.requestId, plan.tier, result, outcome.action);
  if (outcome.action === 'relay') relayRejection(result);
  if (outcome.action === 'degrade') {
    // The fallback runs on the edge, so the edge's limits apply to it.
    checkLimits(
      probe,
      edgeLimits,
      `; the origin is unavailable (${outcome.reason}) and the edge cannot take an image this large`,
    );
    const edge = await runEdge(outcome.edgeModel);
    return c.json(degradedAnswer(answer, plan.tier, edge, outcome.reason, result.elapsedMs), 200);
  }
  return failWith(
    outcome.code,
    failMessage(plan.tier, originPlan, probe, result, outcome.message),
    outcome.retryAfterS,
  );
};

function degradeReason(plan: EscalatingPlan, result: Extract<OriginOutcome, { ok: false }>): string {
  const outcome = onOriginFailure(plan, failureOf(result));
  return outcome.action === 'degrade' ? outcome.reason : 'origin_error';
}

/** The policy's message, made specific where the edge knows more than the policy does. */
function failMessage(
  tier: Tier,
  plan: OriginPlan,
  probe: ImageProbe,
  result: Extract<OriginOutcome, { ok: false }>,
  policyMessage: string,
): string {
  const tooLargeForEdge = tier === 'auto' && plan.degradedModel === null;
  if (tooLargeForEdge) {
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
