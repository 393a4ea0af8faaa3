// One image's way through the edge, in two steps that single and batch requests share:
//   startImage   plan, header checks and the edge run: answered here, or the origin is needed
//   step.finish  the origin's outcome for this image: its answer, or the failure policy's
// Between the two the caller talks to the origin: alone (classifyImage) or together with the other
// images of a batch (batch-origin.ts), so the uncertain images of a batch reach the origin in one call.
//
// Routing follows shared/policy/escalation.ts (docs/tiers.md): the edge answers fast/balanced and edge
// models; auto runs B0 and escalates to the origin below min_confidence; accurate, max, origin models
// and auto with an image over the edge's limits go to the origin without edge compute. Every image
// limit is checked from the headers before a model loads or a byte leaves for the origin. Decoding and
// inference come in as `compute` (WASM in the Worker).
import type { ClassifyParams, ClassifyResponse, Selection } from '../../shared/api/classify.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import { escalationFits, originExpectedMs } from '../../shared/policy/budget.ts';
import {
  afterEdge,
  type OriginBoundPlan,
  onOriginFailure,
  type Plan,
  planRoute,
} from '../../shared/policy/escalation.ts';
import type { ImageResultCache } from '../cache/session.ts';
import type { EdgeCompute } from '../compute.ts';
import { type EdgeConfig, ORIGIN_MAX_IMAGE_PIXELS } from '../config.ts';
import { decodeMinSideFor, edgeImageLimits, imageLimits } from '../image/edge-limits.ts';
import type { ImageProbe } from '../image/probe.ts';
import { type AnswerContext, degradedAnswer, type EdgeWork, edgeAnswer, originAnswer } from './answers.ts';
import { escalationTarget, originView, selection } from './budget.ts';
import { startByBudget } from './by-budget.ts';
import { checkLimits, fitsLimits, probeChecked } from './image-checks.ts';
import {
  callOrigin,
  failureOf,
  failWith,
  logOriginFailure,
  type OriginOutcome,
  relayRejection,
} from './origin-call.ts';

/** What every image of one request shares. */
export interface ImageContext {
  env: Env;
  compute: EdgeCompute;
  config: EdgeConfig;
  params: ClassifyParams;
  requestId: string;
  /** performance.now() when the request started. */
  started: number;
  /** Absolute epoch-ms deadline for origin calls (ORIGIN_TIMEOUT_MS from the request's start). */
  deadlineMs: number;
  /** The result cache for one image once its plan is known (edge/cache); none: no caching. */
  openCache?: (bytes: Uint8Array, plan: Plan) => Promise<ImageResultCache>;
}

/** The origin call one image needs: its bytes go with the model and deadline the plan chose. */
export interface OriginNeed {
  bytes: Uint8Array;
  /** The sniffed type, not the request's Content-Type. */
  contentType: string;
  model: ModelId;
  /** Absolute epoch-ms deadline. */
  deadlineMs: number;
}

export type ImageStep =
  | { kind: 'answered'; body: ClassifyResponse }
  | {
      kind: 'needs-origin';
      origin: OriginNeed;
      /** The answer once the origin's outcome for this image is known; throws ApiError on failure. */
      finish: (result: OriginOutcome) => Promise<ClassifyResponse>;
    };

/** One image alone: the first step, then its own origin call when it needs one. */
export async function classifyImage(ctx: ImageContext, bytes: Uint8Array): Promise<ClassifyResponse> {
  const step = await startImage(ctx, bytes);
  if (step.kind === 'answered') return step.body;
  const { origin } = step;
  return step.finish(
    await callOrigin(ctx.env, {
      bytes: origin.bytes,
      contentType: origin.contentType,
      model: origin.model,
      topK: ctx.params.top_k,
      requestId: ctx.requestId,
      deadlineMs: origin.deadlineMs,
    }),
  );
}

/** Probes the image, plans its route and runs the edge model where the plan says so. */
export async function startImage(ctx: ImageContext, bytes: Uint8Array): Promise<ImageStep> {
  const { env, compute, config, params, started } = ctx;
  const budgetMs = params.latency_budget_ms;
  const edgeLimits = edgeImageLimits(config.maxBodyBytes, config.maxImagePixels);
  const originLimits = imageLimits(config.maxBodyBytes, ORIGIN_MAX_IMAGE_PIXELS);
  const probe = probeChecked(bytes);
  const plan = planRoute(params, config.policy, { fitsEdge: fitsLimits(probe, edgeLimits) });
  const answer: AnswerContext = { requestId: ctx.requestId, topK: params.top_k, started };
  const cache = await ctx.openCache?.(bytes, plan);
  if (cache?.hit) return answered(cache.answer(answer));
  // Hands a fresh answer to the cache, which stores only what may be stored (never degraded answers).
  const keep = (body: ClassifyResponse): ClassifyResponse => (cache ? cache.keep(body) : body);

  const runEdge = async (model: EdgeWork['run']['model']): Promise<EdgeWork> => {
    const decodeStarted = performance.now();
    // Decoded for this model alone: each edge run decodes again, so its own resize target sets the reduction.
    const image = await compute.decode(bytes, probe, decodeMinSideFor(model));
    const decodeMs = performance.now() - decodeStarted;
    return { run: await compute.runModel(env, model, image, params.top_k), decodeMs };
  };

  if (budgetMs !== undefined && params.tier === undefined) {
    // latency_budget_ms alone chooses the model (shared/policy/budget.ts).
    const request = { env, budgetMs, bytes, probe, topK: params.top_k, started, config };
    return startByBudget(request, { edgeLimits, originLimits, answer, runEdge });
  }

  if (plan.kind === 'edge') {
    const hint = fitsLimits(probe, originLimits)
      ? '; tier auto or accurate sends images this large to the GPU origin'
      : '';
    checkLimits(probe, edgeLimits, hint);
    return answered(keep(edgeAnswer(answer, plan.tier, await runEdge(plan.edgeModel))));
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
      return answered(
        keep(withSelection({ ...edgeAnswer(answer, plan.tier, edge), escalated: false }, chosen)),
      );
    }
    if (budgetMs !== undefined) {
      // Tier auto with a budget: escalate only when the origin is still expected to fit.
      const decision = escalationFits({
        budgetMs,
        elapsedMs,
        origin: await escalationTarget(env, plan.originModel),
        originView: originView(env),
      });
      budgetSelection = selection(
        budgetMs,
        // Not escalating: the edge answer is in hand, so its expected latency is the time spent.
        decision.escalate ? decision.expectedMs : elapsedMs,
        decision.escalate || elapsedMs <= budgetMs,
        decision.reason,
      );
      if (!decision.escalate)
        return answered({
          ...edgeAnswer(answer, plan.tier, edge),
          escalated: false,
          selection: budgetSelection,
        });
    }
  } else {
    checkLimits(probe, originLimits);
    if (budgetMs !== undefined) {
      // Tier auto with an image over the edge's limits: the origin is the only way; report the fit.
      const target = await escalationTarget(env, plan.originModel);
      const view = originView(env);
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

  const finish = async (result: OriginOutcome): Promise<ClassifyResponse> => {
    if (result.ok)
      return keep(
        withSelection(originAnswer(answer, plan.tier, result, result.elapsedMs, edge), budgetSelection),
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
      return keep(
        withSelection(
          degradedAnswer(answer, plan.tier, edge, outcome.reason, result.elapsedMs),
          budgetSelection && {
            ...budgetSelection,
            budget_met: false,
            reason: `${budgetSelection.reason}, but the origin failed (${outcome.reason})`,
          },
        ),
      );
    }
    return failWith(
      outcome.code,
      failMessage(plan, params.model === undefined, probe, result, outcome.message),
      outcome.retryAfterS,
    );
  };
  return {
    kind: 'needs-origin',
    origin: { bytes, contentType: probe.type, model: plan.originModel, deadlineMs: ctx.deadlineMs },
    finish,
  };
}

function answered(body: ClassifyResponse): ImageStep {
  return { kind: 'answered', body };
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
