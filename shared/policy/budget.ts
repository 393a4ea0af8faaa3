import { CATALOG, MODEL_IDS, type ModelId, type Placement } from '../catalog/models.ts';
import { EDGE_FAST_MODEL } from './escalation.ts';
import type { Tier } from './tiers.ts';

// latency_budget_ms as pure steps (numbers in, decision out; docs/tiers.md, "Latency budget"):
//   budgetConflict(params)        a budget with a model or a tier other than auto is refused
//   chooseByBudget(inputs)        without a tier: the most accurate served model expected to fit
//   escalationFits(inputs)        tier auto: after the edge answered, can the origin still fit?
// Expected latency: the measured p95 on the edge; on the origin, p95 + the observed edge->origin round
// trip + the origin's queue wait estimate. The handler reads the profiles and the round trip.

export const MIN_BUDGET_MS = 1;
export const MAX_BUDGET_MS = 600_000;

/**
 * Accuracy order of the served models: B0..B7 in catalog order, which is also the order of their
 * published top-1 (timm's tf_efficientnet_bN.ns_jft_in1k: 78.68 .. 86.85).
 */
export function accuracyRank(model: ModelId): number {
  return MODEL_IDS.indexOf(model);
}

/** A model that is served and measured, with its p95 on the runtime that serves it. */
export interface MeasuredModel {
  model: ModelId;
  p95Ms: number;
}

export interface OriginView {
  /** False when no origin is configured or its breaker is open: its models are not candidates. */
  reachable: boolean;
  /** Why it is not reachable (goes into the reason). */
  unreachableReason?: string;
  /** EWMA of the observed edge->origin overhead; null before any call was observed (counted as 0). */
  roundTripMs: number | null;
  /** The origin's queue wait estimate; null when it reports none (counted as 0). */
  queueWaitMs: number | null;
  /** Per-model estimates reported by the origin (recent ones only); they take precedence over queueWaitMs. */
  queueWaitByModel?: Partial<Record<ModelId, number>>;
}

/** The queue wait to expect for `model` on the origin; null when unknown (counted as 0). */
export function queueWaitFor(view: OriginView, model?: ModelId): number | null {
  const reported = model === undefined ? undefined : view.queueWaitByModel?.[model];
  return reported ?? view.queueWaitMs;
}

export interface BudgetInputs {
  budgetMs: number;
  /** Edge models served here with a measured p95 (the edge profile). */
  edge: readonly MeasuredModel[];
  /** Origin models the origin serves, with a measured p95 (the origin profile). */
  origin: readonly MeasuredModel[];
  originView: OriginView;
}

export interface BudgetChoice {
  model: ModelId;
  placement: Placement;
  /** Expected latency of the chosen model; null when even the fallback was never measured. */
  expectedMs: number | null;
  budgetMet: boolean;
  reason: string;
}

type BudgetParams = {
  latency_budget_ms?: number | undefined;
  tier?: Tier | undefined;
  model?: string | undefined;
};

/** A budget combined with a model or a fixed tier contradicts itself: the message for the 400, or null. */
export function budgetConflict(params: BudgetParams): string | null {
  if (params.latency_budget_ms === undefined) return null;
  if (params.model !== undefined)
    return 'latency_budget_ms chooses the model itself; send either latency_budget_ms or model, not both.';
  if (params.tier !== undefined && params.tier !== 'auto')
    return `latency_budget_ms works without a tier or with tier=auto; tier=${params.tier} fixes the model, so send one or the other.`;
  return null;
}

/** Expected latency of an origin model: p95 + round trip + its queue wait (unknown parts count as 0). */
export function originExpectedMs(p95Ms: number, view: OriginView, model?: ModelId): number {
  return p95Ms + (view.roundTripMs ?? 0) + (queueWaitFor(view, model) ?? 0);
}

interface Candidate {
  model: ModelId;
  placement: Placement;
  expectedMs: number;
}

/** Without a tier: the most accurate candidate whose expected latency fits; else the fastest edge model. */
export function chooseByBudget(inputs: BudgetInputs): BudgetChoice {
  const { budgetMs, originView } = inputs;
  const candidates: Candidate[] = [
    ...inputs.edge.map((m) => ({ model: m.model, placement: 'edge' as const, expectedMs: m.p95Ms })),
    ...(originView.reachable
      ? inputs.origin.map((m) => ({
          model: m.model,
          placement: 'origin' as const,
          expectedMs: originExpectedMs(m.p95Ms, originView, m.model),
        }))
      : []),
  ].filter((c) => Number.isFinite(c.expectedMs) && c.expectedMs >= 0);
  const fitting = candidates
    .filter((c) => c.expectedMs <= budgetMs)
    .sort((a, b) => accuracyRank(b.model) - accuracyRank(a.model) || a.expectedMs - b.expectedMs);
  const best = fitting[0];
  const note = originNote(inputs);
  if (best) {
    return {
      ...best,
      budgetMet: true,
      reason: `${best.model} is the most accurate served model expected within ${budgetMs} ms (${describe(best, originView)})${note}`,
    };
  }
  return {
    ...fastestEdge(inputs.edge),
    budgetMet: false,
    reason: `no served model is expected within ${budgetMs} ms; the fastest edge model answers${note}`,
  };
}

/** The answer when nothing fits: the edge model with the lowest p95, or B0 when the edge is unmeasured. */
export function fastestEdge(edge: readonly MeasuredModel[]): Omit<BudgetChoice, 'budgetMet' | 'reason'> {
  const fastest = [...edge].sort(
    (a, b) => a.p95Ms - b.p95Ms || accuracyRank(a.model) - accuracyRank(b.model),
  )[0];
  return fastest
    ? { model: fastest.model, placement: 'edge', expectedMs: fastest.p95Ms }
    : { model: EDGE_FAST_MODEL, placement: 'edge', expectedMs: null };
}

export interface EscalationInputs {
  budgetMs: number;
  /** Time already spent on this request when the edge answered. */
  elapsedMs: number;
  /** The origin model auto escalates to, with its measured p95, or null when it is not measured. */
  origin: MeasuredModel | null;
  originView: OriginView;
}

export interface EscalationDecision {
  escalate: boolean;
  /** Expected total latency if escalating (elapsed + origin expected); null when unmeasured. */
  expectedMs: number | null;
  reason: string;
}

/** Tier auto with a budget: escalate only when the origin's expected latency fits what is left. */
export function escalationFits(inputs: EscalationInputs): EscalationDecision {
  const { budgetMs, elapsedMs, origin, originView } = inputs;
  if (!originView.reachable)
    return {
      escalate: false,
      expectedMs: null,
      reason: `the origin is unavailable (${originView.unreachableReason ?? 'unknown'}); the edge answers`,
    };
  if (!origin)
    return {
      escalate: false,
      expectedMs: null,
      reason:
        'the origin model has no measured latency, so escalating cannot be promised within the budget; the edge answers',
    };
  const expectedMs = elapsedMs + originExpectedMs(origin.p95Ms, originView, origin.model);
  if (!(expectedMs <= budgetMs))
    return {
      escalate: false,
      expectedMs,
      reason: `escalating to ${origin.model} would take about ${round(expectedMs)} ms in all, over the ${budgetMs} ms budget; the edge answers`,
    };
  return {
    escalate: true,
    expectedMs,
    reason: `escalating to ${origin.model} is expected to finish in about ${round(expectedMs)} ms, within ${budgetMs} ms`,
  };
}

function describe(c: Candidate, view: OriginView): string {
  if (c.placement === 'edge') return `edge p95 ${round(c.expectedMs)} ms`;
  const wait = queueWaitFor(view, c.model) ?? 0;
  const p95 = c.expectedMs - (view.roundTripMs ?? 0) - wait;
  return `origin p95 ${round(p95)} ms + round trip ${round(view.roundTripMs ?? 0)} ms + queue wait ${round(wait)} ms`;
}

function originNote(inputs: BudgetInputs): string {
  const { originView } = inputs;
  if (!originView.reachable)
    return `; origin models not considered: ${originView.unreachableReason ?? 'origin unavailable'}`;
  const unreported = inputs.origin.filter((m) => queueWaitFor(originView, m.model) === null);
  const unknown = [
    originView.roundTripMs === null ? 'no round trip observed yet' : '',
    unreported.length === inputs.origin.length
      ? 'no recent queue wait report from the origin'
      : unreported.length > 0
        ? `no recent queue wait report for ${unreported.map((m) => m.model).join(', ')}`
        : '',
  ].filter(Boolean);
  return unknown.length > 0 && inputs.origin.length > 0 ? `; counted as 0: ${unknown.join(', ')}` : '';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Placement of a catalog model (re-exported for the handler's candidate lists). */
export function placementOf(model: ModelId): Placement {
  return CATALOG[model].placement;
}
