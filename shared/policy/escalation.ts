import type { ClassifyParams } from '../api/classify.ts';
import { CATALOG, type ModelId } from '../catalog/models.ts';
import { DEFAULT_TIER, type Tier } from './tiers.ts';

// Routing as pure steps, so every combination can be tested without a network:
//   planRoute(params, defaults, image)  which model runs first, and where
//   afterEdge(plan, edgeTop1)           answer from the edge, or escalate to the origin
//   onOriginFailure(plan, failure, d)   degrade to an edge answer, relay the origin's error, or fail
// The worker performs the I/O between the steps. See docs/tiers.md.

export const EDGE_FAST_MODEL: ModelId = 'efficientnet-b0';
export const EDGE_BALANCED_MODEL: ModelId = 'efficientnet-b1';
export const ORIGIN_ACCURATE_MODEL: ModelId = 'efficientnet-b5';
export const ORIGIN_MAX_MODEL: ModelId = 'efficientnet-b7';
/**
 * The model each tier names: the edge model for fast and balanced, the origin model otherwise (auto
 * escalates to B5, so an origin asked for auto runs B5). The edge and the origin both route by this table.
 */
export const TIER_MODEL: Readonly<Record<Tier, ModelId>> = {
  fast: EDGE_FAST_MODEL,
  balanced: EDGE_BALANCED_MODEL,
  auto: ORIGIN_ACCURATE_MODEL,
  accurate: ORIGIN_ACCURATE_MODEL,
  max: ORIGIN_MAX_MODEL,
};
/** accurate/max with allow_degraded answer from the strongest edge model: the caller asked for accuracy. */
export const DEGRADED_FALLBACK_MODEL: ModelId = EDGE_BALANCED_MODEL;

export const DEFAULT_MIN_CONFIDENCE = 0.5;
export const DEFAULT_RETRY_AFTER_S = 5;

export interface PolicyDefaults {
  /** Tier auto escalates when the edge top-1 probability is strictly below this; a request may override it. */
  minConfidence: number;
  /** Retry-After for a 503 when the failure carries no better estimate (e.g. the breaker's cooldown). */
  retryAfterS: number;
}

export const POLICY_DEFAULTS: PolicyDefaults = {
  minConfidence: DEFAULT_MIN_CONFIDENCE,
  retryAfterS: DEFAULT_RETRY_AFTER_S,
};

/** The edge answers; nothing is sent to the origin (fast, balanced, an explicit edge model). */
export interface EdgeOnlyPlan {
  kind: 'edge';
  tier: Tier;
  edgeModel: ModelId;
}

/** The edge runs first; a top-1 probability below minConfidence sends the image to the origin (auto). */
export interface EscalatingPlan {
  kind: 'edge-then-origin';
  tier: Tier;
  edgeModel: ModelId;
  originModel: ModelId;
  minConfidence: number;
}

/** The origin answers with no edge compute (accurate, max, an explicit origin model). */
export interface OriginPlan {
  kind: 'origin';
  tier: Tier;
  originModel: ModelId;
  /** The edge model to answer with when the origin is unavailable; null means fail with 503 instead. */
  degradedModel: ModelId | null;
}

export type Plan = EdgeOnlyPlan | EscalatingPlan | OriginPlan;
export type EdgeFirstPlan = EdgeOnlyPlan | EscalatingPlan;
export type OriginBoundPlan = EscalatingPlan | OriginPlan;

type RouteParams = Pick<ClassifyParams, 'tier' | 'model' | 'min_confidence' | 'allow_degraded'>;

/** What the edge knows of the image before any work: whether its header dimensions fit the edge's limits. */
export interface ImageFit {
  fitsEdge: boolean;
}

/**
 * The one plan the worker follows. An image over the edge's limits sends auto straight to the origin
 * (with no edge answer to degrade to); edge-only plans stay on the edge, whose limits then refuse it.
 */
export function planRoute(params: RouteParams, defaults: PolicyDefaults, image: ImageFit): Plan {
  const tier = params.tier ?? DEFAULT_TIER;
  if (params.model !== undefined) {
    // An explicit model overrides the tier and runs only where it is placed.
    return CATALOG[params.model].placement === 'edge'
      ? { kind: 'edge', tier, edgeModel: params.model }
      : originPlan(tier, params.model, params.allow_degraded);
  }
  switch (tier) {
    case 'fast':
    case 'balanced':
      return { kind: 'edge', tier, edgeModel: TIER_MODEL[tier] };
    case 'auto':
      if (!image.fitsEdge) return { kind: 'origin', tier, originModel: TIER_MODEL.auto, degradedModel: null };
      return {
        kind: 'edge-then-origin',
        tier,
        edgeModel: EDGE_FAST_MODEL,
        originModel: TIER_MODEL.auto,
        minConfidence: params.min_confidence ?? defaults.minConfidence,
      };
    case 'accurate':
    case 'max':
      return originPlan(tier, TIER_MODEL[tier], params.allow_degraded);
  }
}

function originPlan(tier: Tier, originModel: ModelId, allowDegraded: boolean | undefined): OriginPlan {
  return {
    kind: 'origin',
    tier,
    originModel,
    degradedModel: allowDegraded === true ? DEGRADED_FALLBACK_MODEL : null,
  };
}

export type EdgeDecision = 'answer' | 'escalate';

/** Escalates strictly below the threshold; a score that is not a probability is not trusted either. */
export function afterEdge(plan: EdgeFirstPlan, edgeTop1: number): EdgeDecision {
  if (plan.kind === 'edge') return 'answer';
  if (!Number.isFinite(edgeTop1) || edgeTop1 < 0 || edgeTop1 > 1) return 'escalate';
  return edgeTop1 < plan.minConfidence ? 'escalate' : 'answer';
}

/**
 * Why the origin gave no answer. The origin client reports these; the policy only reads them.
 * - not_configured: no origin URL or key in this deployment
 * - circuit_open: the breaker failed the call fast, without contacting the origin
 * - connect: no connection (refused, reset, DNS), after the client's one retry
 * - timeout: no answer before the request's deadline
 * - busy: the origin is up but full (429): it shed this request and said when to retry
 * - unavailable: the origin answered with an error of its own (5xx, 401/403 misconfiguration)
 * - bad_response: a 2xx whose body is not a valid classification
 * - rejected: the origin refused this input (400, 413, 415, 422): the image, not the origin, is at fault
 */
export const ORIGIN_FAILURE_KINDS = [
  'not_configured',
  'circuit_open',
  'connect',
  'timeout',
  'busy',
  'unavailable',
  'bad_response',
  'rejected',
] as const;
export type OriginFailureKind = (typeof ORIGIN_FAILURE_KINDS)[number];

export interface OriginFailure {
  kind: OriginFailureKind;
  /** Whole seconds the origin (Retry-After) or the breaker (remaining cooldown) suggests waiting. */
  retryAfterS?: number | undefined;
}

export type OriginFailureOutcome =
  | {
      action: 'degrade';
      /** The edge model whose result is the answer. */
      edgeModel: ModelId;
      /** False for auto: the edge result is already in hand. True for accurate/max: run it now. */
      runEdge: boolean;
      /** Goes into the response's degraded_reason. */
      reason: string;
    }
  | {
      action: 'fail';
      status: 429 | 503 | 504;
      code: 'queue_full' | 'origin_unavailable' | 'deadline_exceeded';
      message: string;
      /** Seconds for a Retry-After header; null for 504, where waiting does not help. */
      retryAfterS: number | null;
    }
  /** Pass the origin's own 4xx error envelope through: retrying elsewhere would not change the verdict. */
  | { action: 'relay' };

const FAILURE_REASONS: Readonly<Record<OriginFailureKind, string>> = {
  not_configured: 'origin_not_configured',
  circuit_open: 'origin_circuit_open',
  connect: 'origin_unreachable',
  timeout: 'origin_timeout',
  busy: 'origin_busy',
  unavailable: 'origin_error',
  bad_response: 'origin_bad_response',
  rejected: 'origin_rejected_input',
};

/** The machine-readable degraded_reason / log reason for a failure kind. */
export function failureReason(kind: OriginFailureKind): string {
  return FAILURE_REASONS[kind];
}

export function onOriginFailure(
  plan: OriginBoundPlan,
  failure: OriginFailure,
  defaults: PolicyDefaults = POLICY_DEFAULTS,
): OriginFailureOutcome {
  const reason = failureReason(failure.kind);
  // auto already holds a valid edge answer, so any origin failure (even a rejected input) degrades to it.
  if (plan.kind === 'edge-then-origin')
    return { action: 'degrade', edgeModel: plan.edgeModel, runEdge: false, reason };
  if (failure.kind === 'rejected') return { action: 'relay' };
  if (plan.degradedModel !== null) {
    return { action: 'degrade', edgeModel: plan.degradedModel, runEdge: true, reason };
  }
  if (failure.kind === 'timeout') {
    return {
      action: 'fail',
      status: 504,
      code: 'deadline_exceeded',
      message: `The origin did not answer ${plan.originModel} within the request's deadline; allow_degraded=true accepts an edge answer instead.`,
      retryAfterS: null,
    };
  }
  if (failure.kind === 'busy') {
    // The origin is healthy and shedding: relay its 429 and its Retry-After, so clients back off
    // instead of reading an outage into it.
    return {
      action: 'fail',
      status: 429,
      code: 'queue_full',
      message: `The origin's queue for ${plan.originModel} is full; retry after the Retry-After delay, or send allow_degraded=true to accept an edge answer instead.`,
      retryAfterS: retryAfterSeconds(failure.retryAfterS, defaults.retryAfterS),
    };
  }
  return {
    action: 'fail',
    status: 503,
    code: 'origin_unavailable',
    message: `Tier ${plan.tier} needs ${plan.originModel} on the origin, which is unavailable (${reason}); allow_degraded=true accepts an edge answer instead.`,
    retryAfterS: retryAfterSeconds(failure.retryAfterS, defaults.retryAfterS),
  };
}

function retryAfterSeconds(suggested: number | undefined, fallback: number): number {
  if (suggested === undefined || !Number.isFinite(suggested)) return fallback;
  return Math.max(1, Math.ceil(suggested));
}
