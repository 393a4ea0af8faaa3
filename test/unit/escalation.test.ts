import { describe, expect, it } from 'vitest';
import type { ModelId } from '../../shared/catalog/models.ts';
import { MODEL_IDS } from '../../shared/catalog/models.ts';
import {
  afterEdge,
  ORIGIN_FAILURE_KINDS,
  type OriginFailureKind,
  onOriginFailure,
  type PolicyDefaults,
  planRoute,
} from '../../shared/policy/escalation.ts';
import { TIERS, type Tier } from '../../shared/policy/tiers.ts';

// Exhaustive walk over tier × explicit model × edge confidence × origin outcome × allow_degraded.
// The walk drives the three policy steps the way the worker does; the oracle below restates docs/tiers.md
// as data, independently of how escalation.ts is written.

const DEFAULTS: PolicyDefaults = { minConfidence: 0.5, retryAfterS: 7 };

type OriginOutcome = 'ok' | OriginFailureKind;
const ORIGIN_OUTCOMES: readonly OriginOutcome[] = ['ok', ...ORIGIN_FAILURE_KINDS];

interface Walk {
  edgeRuns: ModelId[];
  originCalls: ModelId[];
  answer:
    | { from: 'edge' | 'origin'; model: ModelId }
    | { error: number; code: string; retryAfterS: number | null }
    | 'relay';
  degradedReason: string | null;
}

const FITS = { fitsEdge: true };

function walk(
  params: Parameters<typeof planRoute>[0],
  edgeTop1: number,
  origin: OriginOutcome,
  fitsEdge = true,
  defaults: PolicyDefaults = DEFAULTS,
): Walk {
  const plan = planRoute(params, defaults, { fitsEdge });
  const out: Walk = { edgeRuns: [], originCalls: [], answer: 'relay', degradedReason: null };
  if (plan.kind !== 'origin') {
    out.edgeRuns.push(plan.edgeModel);
    if (afterEdge(plan, edgeTop1) === 'answer' || plan.kind === 'edge') {
      out.answer = { from: 'edge', model: plan.edgeModel };
      return out;
    }
  }
  out.originCalls.push(plan.originModel);
  if (origin === 'ok') {
    out.answer = { from: 'origin', model: plan.originModel };
    return out;
  }
  const outcome = onOriginFailure(plan, { kind: origin }, defaults);
  if (outcome.action === 'degrade') {
    if (outcome.runEdge) out.edgeRuns.push(outcome.edgeModel);
    out.answer = { from: 'edge', model: outcome.edgeModel };
    out.degradedReason = outcome.reason;
  } else if (outcome.action === 'fail') {
    out.answer = { error: outcome.status, code: outcome.code, retryAfterS: outcome.retryAfterS };
  }
  return out;
}

// The specification, as data.
const TIER_SPEC: Record<Tier, { edge: ModelId | null; origin: ModelId | null }> = {
  fast: { edge: 'efficientnet-b0', origin: null },
  balanced: { edge: 'efficientnet-b1', origin: null },
  auto: { edge: 'efficientnet-b0', origin: 'efficientnet-b5' },
  accurate: { edge: null, origin: 'efficientnet-b5' },
  max: { edge: null, origin: 'efficientnet-b7' },
};
const EDGE_PLACED = new Set<ModelId>(['efficientnet-b0', 'efficientnet-b1']);

function expected(
  tier: Tier,
  model: ModelId | undefined,
  top1: number,
  threshold: number,
  origin: OriginOutcome,
  allowDegraded: boolean | undefined,
  fitsEdge: boolean,
): Walk {
  // auto with an image over the edge's limits: origin only, and nothing on the edge to fall back on.
  const overEdgeAuto = model === undefined && tier === 'auto' && !fitsEdge;
  const route = overEdgeAuto
    ? { edge: null, origin: 'efficientnet-b5' as ModelId }
    : model === undefined
      ? TIER_SPEC[tier]
      : EDGE_PLACED.has(model)
        ? { edge: model, origin: null }
        : { edge: null, origin: model };
  const edgeRuns: ModelId[] = route.edge ? [route.edge] : [];
  if (route.origin === null)
    return {
      edgeRuns,
      originCalls: [],
      answer: { from: 'edge', model: route.edge as ModelId },
      degradedReason: null,
    };
  if (route.edge !== null && top1 >= threshold) {
    return { edgeRuns, originCalls: [], answer: { from: 'edge', model: route.edge }, degradedReason: null };
  }
  const originCalls = [route.origin];
  if (origin === 'ok')
    return { edgeRuns, originCalls, answer: { from: 'origin', model: route.origin }, degradedReason: null };
  const reason = REASONS[origin];
  if (route.edge !== null)
    return { edgeRuns, originCalls, answer: { from: 'edge', model: route.edge }, degradedReason: reason };
  if (origin === 'rejected') return { edgeRuns, originCalls, answer: 'relay', degradedReason: null };
  if (allowDegraded === true && !overEdgeAuto) {
    return {
      edgeRuns: ['efficientnet-b1'],
      originCalls,
      answer: { from: 'edge', model: 'efficientnet-b1' },
      degradedReason: reason,
    };
  }
  // busy: the origin shed the request; its 429 and retry hint reach the client unchanged.
  const answer =
    origin === 'timeout'
      ? { error: 504, code: 'deadline_exceeded', retryAfterS: null }
      : origin === 'busy'
        ? { error: 429, code: 'queue_full', retryAfterS: 7 }
        : { error: 503, code: 'origin_unavailable', retryAfterS: 7 };
  return { edgeRuns, originCalls, answer, degradedReason: null };
}

const REASONS: Record<OriginFailureKind, string> = {
  not_configured: 'origin_not_configured',
  circuit_open: 'origin_circuit_open',
  connect: 'origin_unreachable',
  timeout: 'origin_timeout',
  busy: 'origin_busy',
  unavailable: 'origin_error',
  bad_response: 'origin_bad_response',
  rejected: 'origin_rejected_input',
};

describe('escalation policy, exhaustive', () => {
  const tiers: (Tier | undefined)[] = [undefined, ...TIERS];
  const models: (ModelId | undefined)[] = [undefined, ...MODEL_IDS];
  const degradedFlags = [undefined, false, true];
  // Threshold from the defaults or from the request; top-1 below, exactly at and above it.
  const thresholds: { override: number | undefined; effective: number }[] = [
    { override: undefined, effective: DEFAULTS.minConfidence },
    { override: 0.8, effective: 0.8 },
    { override: 0, effective: 0 },
    { override: 1, effective: 1 },
  ];

  it('matches the tier table for every combination', () => {
    let cases = 0;
    for (const tier of tiers)
      for (const model of models)
        for (const { override, effective } of thresholds)
          for (const top1 of [effective - 0.01, effective, effective + 0.01].filter((p) => p >= 0 && p <= 1))
            for (const origin of ORIGIN_OUTCOMES)
              for (const allow of degradedFlags)
                for (const fitsEdge of [true, false]) {
                  const params = { tier, model, min_confidence: override, allow_degraded: allow };
                  const got = walk(params, top1, origin, fitsEdge);
                  const want = expected(tier ?? 'auto', model, top1, effective, origin, allow, fitsEdge);
                  expect(got, JSON.stringify({ params, top1, origin, fitsEdge })).toEqual(want);
                  cases++;
                }
    // 6 tiers × 9 models × (3+3+2+2 scores) × 9 outcomes × 3 flags × 2 image fits
    expect(cases).toBe(6 * 9 * 10 * 9 * 3 * 2);
  });
});

describe('escalation policy, spelled out', () => {
  it('auto is the default tier: edge B0, escalating to origin B5 below 0.5', () => {
    const plan = planRoute({}, DEFAULTS, FITS);
    expect(plan).toEqual({
      kind: 'edge-then-origin',
      tier: 'auto',
      edgeModel: 'efficientnet-b0',
      originModel: 'efficientnet-b5',
      minConfidence: 0.5,
    });
    if (plan.kind !== 'edge-then-origin') throw new Error('unreachable');
    expect(afterEdge(plan, 0.49)).toBe('escalate');
    expect(afterEdge(plan, 0.5)).toBe('answer');
    expect(afterEdge(plan, 0.51)).toBe('answer');
  });

  it('the configured default threshold applies unless the request overrides it', () => {
    const defaults = { minConfidence: 0.9, retryAfterS: 5 };
    const fromDefault = planRoute({ tier: 'auto' }, defaults, FITS);
    const overridden = planRoute({ tier: 'auto', min_confidence: 0.2 }, defaults, FITS);
    if (fromDefault.kind !== 'edge-then-origin' || overridden.kind !== 'edge-then-origin')
      throw new Error('unreachable');
    expect(afterEdge(fromDefault, 0.85)).toBe('escalate');
    expect(afterEdge(overridden, 0.85)).toBe('answer');
  });

  it('min_confidence does not make fast or balanced escalate', () => {
    for (const tier of ['fast', 'balanced'] as const) {
      const plan = planRoute({ tier, min_confidence: 1 }, DEFAULTS, FITS);
      if (plan.kind === 'origin') throw new Error('unreachable');
      expect(afterEdge(plan, 0)).toBe('answer');
    }
  });

  it('an edge score that is not a probability escalates rather than being trusted', () => {
    const plan = planRoute({ tier: 'auto' }, DEFAULTS, FITS);
    if (plan.kind !== 'edge-then-origin') throw new Error('unreachable');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -0.1, 1.5])
      expect(afterEdge(plan, bad)).toBe('escalate');
  });

  it('an explicit model keeps the requested tier for the response but overrides its routing', () => {
    expect(planRoute({ tier: 'max', model: 'efficientnet-b0' }, DEFAULTS, FITS)).toEqual({
      kind: 'edge',
      tier: 'max',
      edgeModel: 'efficientnet-b0',
    });
    expect(planRoute({ tier: 'fast', model: 'efficientnet-b6' }, DEFAULTS, FITS)).toEqual({
      kind: 'origin',
      tier: 'fast',
      originModel: 'efficientnet-b6',
      degradedModel: null,
    });
  });

  it('accurate without allow_degraded fails with 503 and the retry hint from the failure', () => {
    const plan = planRoute({ tier: 'accurate' }, DEFAULTS, FITS);
    if (plan.kind !== 'origin') throw new Error('unreachable');
    const outcome = onOriginFailure(plan, { kind: 'circuit_open', retryAfterS: 2.3 }, DEFAULTS);
    expect(outcome).toMatchObject({
      action: 'fail',
      status: 503,
      code: 'origin_unavailable',
      retryAfterS: 3,
    });
    if (outcome.action !== 'fail') throw new Error('unreachable');
    expect(outcome.message).toContain('allow_degraded');
    // A sub-second hint still yields a usable header value.
    expect(onOriginFailure(plan, { kind: 'unavailable', retryAfterS: 0.01 }, DEFAULTS)).toMatchObject({
      retryAfterS: 1,
    });
  });

  it('a busy origin: accurate relays 429 queue_full with its Retry-After; auto and allow_degraded degrade', () => {
    const accurate = planRoute({ tier: 'accurate' }, DEFAULTS, FITS);
    if (accurate.kind !== 'origin') throw new Error('unreachable');
    const outcome = onOriginFailure(accurate, { kind: 'busy', retryAfterS: 4 }, DEFAULTS);
    expect(outcome).toMatchObject({ action: 'fail', status: 429, code: 'queue_full', retryAfterS: 4 });
    if (outcome.action !== 'fail') throw new Error('unreachable');
    expect(outcome.message).toContain('efficientnet-b5');
    // Without a hint from the origin, the configured default.
    expect(onOriginFailure(accurate, { kind: 'busy' }, DEFAULTS)).toMatchObject({ retryAfterS: 7 });

    const auto = planRoute({ tier: 'auto' }, DEFAULTS, FITS);
    if (auto.kind !== 'edge-then-origin') throw new Error('unreachable');
    expect(onOriginFailure(auto, { kind: 'busy', retryAfterS: 4 }, DEFAULTS)).toEqual({
      action: 'degrade',
      edgeModel: 'efficientnet-b0',
      runEdge: false,
      reason: 'origin_busy',
    });
    const degradable = planRoute({ tier: 'max', allow_degraded: true }, DEFAULTS, FITS);
    if (degradable.kind !== 'origin') throw new Error('unreachable');
    expect(onOriginFailure(degradable, { kind: 'busy', retryAfterS: 4 }, DEFAULTS)).toMatchObject({
      action: 'degrade',
      edgeModel: 'efficientnet-b1',
      reason: 'origin_busy',
    });
  });

  it('max with allow_degraded answers from edge B1, run after the origin failed', () => {
    const plan = planRoute({ tier: 'max', allow_degraded: true }, DEFAULTS, FITS);
    if (plan.kind !== 'origin') throw new Error('unreachable');
    expect(onOriginFailure(plan, { kind: 'connect' }, DEFAULTS)).toEqual({
      action: 'degrade',
      edgeModel: 'efficientnet-b1',
      runEdge: true,
      reason: 'origin_unreachable',
    });
  });

  it('an image over the edge limits sends auto to the origin with no edge fallback; fast stays on the edge', () => {
    const overEdge = { fitsEdge: false };
    expect(planRoute({ tier: 'auto', allow_degraded: true }, DEFAULTS, overEdge)).toEqual({
      kind: 'origin',
      tier: 'auto',
      originModel: 'efficientnet-b5',
      degradedModel: null,
    });
    expect(planRoute({ tier: 'fast' }, DEFAULTS, overEdge)).toEqual({
      kind: 'edge',
      tier: 'fast',
      edgeModel: 'efficientnet-b0',
    });
  });
});
