// latency_budget_ms without a tier: the budget alone chooses the model (shared/policy/budget.ts), the
// chosen model answers, and an origin that fails is replaced by the edge model the time left allows.
// Two steps like image-steps.ts: the choice (and an edge answer), then the origin's outcome.
import type { ClassifyResponse } from '../../shared/api/classify.ts';
import { chooseByBudget } from '../../shared/policy/budget.ts';
import { onOriginFailure } from '../../shared/policy/escalation.ts';
import { DEFAULT_TIER } from '../../shared/policy/tiers.ts';
import type { EdgeConfig } from '../config.ts';
import type { ImageLimits } from '../image/limits.ts';
import type { ImageProbe } from '../image/probe.ts';
import { type AnswerContext, degradedAnswer, type EdgeWork, edgeAnswer, originAnswer } from './answers.ts';
import { budgetInputs, selection } from './budget.ts';
import { checkLimits } from './image-checks.ts';
import type { ImageStep } from './image-steps.ts';
import { failureOf, failWith, logOriginFailure, type OriginOutcome, relayRejection } from './origin-call.ts';

export interface BudgetRequest {
  env: Env;
  budgetMs: number;
  bytes: Uint8Array;
  probe: ImageProbe;
  topK: number;
  /** performance.now() when the handler started. */
  started: number;
  config: EdgeConfig;
}

export interface BudgetWork {
  edgeLimits: ImageLimits;
  originLimits: ImageLimits;
  answer: AnswerContext;
  runEdge: (model: EdgeWork['run']['model']) => Promise<EdgeWork>;
}

export async function startByBudget(r: BudgetRequest, work: BudgetWork): Promise<ImageStep> {
  const { budgetMs, probe } = r;
  const { answer } = work;
  const inputs = await budgetInputs(r.env, budgetMs);
  const choice = chooseByBudget(inputs);
  const chosen = selection(budgetMs, choice.expectedMs, choice.budgetMet, choice.reason);
  if (choice.placement === 'edge') {
    checkLimits(probe, work.edgeLimits, `; latency_budget_ms chose ${choice.model} on the edge`);
    const body = { ...edgeAnswer(answer, DEFAULT_TIER, await work.runEdge(choice.model)), selection: chosen };
    return { kind: 'answered', body };
  }
  checkLimits(probe, work.originLimits);

  const finish = async (result: OriginOutcome): Promise<ClassifyResponse> => {
    if (result.ok)
      return {
        ...originAnswer(answer, DEFAULT_TIER, result, result.elapsedMs, undefined),
        selection: chosen,
      };

    // The origin failed: the edge model the budget allows with the time left answers instead.
    const spentMs = performance.now() - r.started;
    const fallback = chooseByBudget({
      ...inputs,
      budgetMs: budgetMs - spentMs,
      originView: { ...inputs.originView, reachable: false, unreachableReason: 'it failed for this request' },
    });
    const outcome = onOriginFailure(
      { kind: 'origin', tier: DEFAULT_TIER, originModel: choice.model, degradedModel: fallback.model },
      failureOf(result),
      r.config.policy,
    );
    logOriginFailure(answer.requestId, DEFAULT_TIER, result, outcome.action);
    if (outcome.action === 'relay') relayRejection(result);
    if (outcome.action === 'fail') return failWith(outcome.code, outcome.message, outcome.retryAfterS);
    checkLimits(
      probe,
      work.edgeLimits,
      `; the origin is unavailable (${outcome.reason}) and the edge cannot take an image this large`,
    );
    const edgeWork = await work.runEdge(outcome.edgeModel);
    const expectedMs = fallback.expectedMs === null ? null : spentMs + fallback.expectedMs;
    return {
      ...degradedAnswer(answer, DEFAULT_TIER, edgeWork, outcome.reason, result.elapsedMs),
      selection: selection(
        budgetMs,
        expectedMs,
        expectedMs !== null && expectedMs <= budgetMs,
        `${choice.model} on the origin failed (${outcome.reason}); ${fallback.reason}`,
      ),
    };
  };
  return {
    kind: 'needs-origin',
    origin: {
      bytes: r.bytes,
      contentType: probe.type,
      model: choice.model,
      // The caller's budget, when longer than the edge's default origin deadline, is the deadline.
      deadlineMs: Date.now() + Math.max(r.config.originTimeoutMs, budgetMs) - (performance.now() - r.started),
    },
    finish,
  };
}
