import type { RouteHandler } from '@hono/zod-openapi';
import type { ClassifyParams, ClassifyResponse, Selection } from '../../shared/api/classify.ts';
import { ApiError } from '../../shared/http/errors.ts';
import { budgetConflict, escalationFits, originExpectedMs } from '../../shared/policy/budget.ts';
import {
  afterEdge,
  type OriginBoundPlan,
  onOriginFailure,
  planRoute,
} from '../../shared/policy/escalation.ts';
import type { EdgeCompute } from '../compute.ts';
import { edgeConfig, ORIGIN_MAX_IMAGE_PIXELS } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { ImageProbe } from '../image/probe.ts';
import { type AnswerContext, degradedAnswer, type EdgeWork, edgeAnswer, originAnswer } from './answers.ts';
import { escalationTarget, originView, selection } from './budget.ts';
import { answerByBudget } from './by-budget.ts';
import { checkLimits, edgeImageLimits, fitsLimits, imageLimits, probeChecked } from './image-checks.ts';
import { classifyInput } from './input.ts';
import {
  callOrigin,
  failureOf,
  failWith,
  logOriginFailure,
  type OriginOutcome,
  relayRejection,
} from './origin-call.ts';
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
  const conflict = budgetConflict(params);
  if (conflict) throw new ApiError('invalid_parameter', conflict);
  const budgetMs = params.latency_budget_ms;
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

  if (budgetMs !== undefined && params.tier === undefined) {
    // latency_budget_ms alone chooses the model (shared/policy/budget.ts).
    const request = { env: c.env, budgetMs, bytes, probe, topK: params.top_k, started, config };
    return c.json(await answerByBudget(request, { edgeLimits, originLimits, answer, runEdge }), 200);
  }

  if (plan.kind === 'edge') {
    const hint = fitsLimits(probe, originLimits)
      ? '; tier auto or accurate sends images this large to the GPU origin'
      : '';
    checkLimits(probe, edgeLimits, hint);
    return c.json(edgeAnswer(answer, plan.tier, await runEdge(plan.edgeModel)), 200);
  }

  let edge: EdgeWork | undefined;
  let budgetSelection: Selection | undefined;
  if (plan.kind === 'edge-then-origin') {
    edge = await runEdge(plan.edgeModel);
    const elapsedMs = performance.now() - started;
    if (afterEdge(plan, edge.run.top1) === 'answer') {
      const chosen =
        budgetMs === undefined
          ? undefined
          : selection(
              budgetMs,
              elapsedMs,
              elapsedMs <= budgetMs,
              'the edge was confident enough; no escalation',
            );
      return c.json(withSelection({ ...edgeAnswer(answer, plan.tier, edge), escalated: false }, chosen), 200);
    }
    if (budgetMs !== undefined) {
      // Tier auto with a budget: escalate only when the origin is still expected to fit.
      const decision = escalationFits({
        budgetMs,
        elapsedMs,
        origin: await escalationTarget(c.env, plan.originModel),
        originView: originView(c.env),
      });
      budgetSelection = selection(
        budgetMs,
        // Not escalating: the edge answer is in hand, so its expected latency is the time spent.
        decision.escalate ? decision.expectedMs : elapsedMs,
        decision.escalate || elapsedMs <= budgetMs,
        decision.reason,
      );
      if (!decision.escalate)
        return c.json(
          { ...edgeAnswer(answer, plan.tier, edge), escalated: false, selection: budgetSelection },
          200,
        );
    }
  } else {
    checkLimits(probe, originLimits);
    if (budgetMs !== undefined) {
      // Tier auto with an image over the edge's limits: the origin is the only way; report the fit.
      const target = await escalationTarget(c.env, plan.originModel);
      const view = originView(c.env);
      const expectedMs = target
        ? performance.now() - started + originExpectedMs(target.p95Ms, view, target.model)
        : null;
      budgetSelection = selection(
        budgetMs,
        expectedMs,
        expectedMs !== null && expectedMs <= budgetMs,
        `the image is over the edge's limits, so tier auto needs ${plan.originModel} on the origin${expectedMs === null ? ', whose latency is not measured' : ''}`,
      );
    }
  }

  const result = await callOrigin(c.env, {
    bytes,
    contentType: probe.type,
    model: plan.originModel,
    topK: params.top_k,
    requestId: answer.requestId,
    deadlineMs,
  });
  if (result.ok)
    return c.json(
      withSelection(originAnswer(answer, plan.tier, result, result.elapsedMs, edge), budgetSelection),
      200,
    );

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
    return c.json(
      withSelection(
        degradedAnswer(answer, plan.tier, edge, outcome.reason, result.elapsedMs),
        budgetSelection && {
          ...budgetSelection,
          budget_met: false,
          reason: `${budgetSelection.reason}, but the origin failed (${outcome.reason})`,
        },
      ),
      200,
    );
  }
  return failWith(
    outcome.code,
    failMessage(plan, params.model === undefined, probe, result, outcome.message),
    outcome.retryAfterS,
  );
}

function withSelection(body: ClassifyResponse, chosen: Selection | undefined): ClassifyResponse {
  return chosen ? { ...body, selection: chosen } : body;
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
