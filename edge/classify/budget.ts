// The I/O around shared/policy/budget.ts: which models are served and measured, and what the edge has
// observed of the origin. The policy itself stays pure.
import type { Selection } from '../../shared/api/classify.ts';
import { CATALOG, type ModelId } from '../../shared/catalog/models.ts';
import type { BudgetInputs, MeasuredModel, OriginView } from '../../shared/policy/budget.ts';
import { ORIGIN_ACCURATE_MODEL, ORIGIN_MAX_MODEL } from '../../shared/policy/escalation.ts';
import { measuredP95, measuredProfiles } from '../models/profiles.ts';
import { originFor } from '../origin/from-env.ts';

const EDGE_MODELS = Object.values(CATALOG)
  .filter((entry) => entry.placement === 'edge')
  .map((entry) => entry.id);

/**
 * The origin models the edge can count on: the ones its tiers name (B5 for accurate/auto, B7 for max).
 * The origin may be configured to serve more (ORIGIN_VARIANTS, B2-B7), but the edge is not told which,
 * so a budget never sends it a model it may not have.
 */
export const BUDGET_ORIGIN_MODELS: readonly ModelId[] = [ORIGIN_ACCURATE_MODEL, ORIGIN_MAX_MODEL];

/**
 * What the edge knows of the origin now. Not reachable: no origin configured, or its breaker open.
 * Queue waits: the origin's per-model estimates from its latest responses, aged (edge/origin/queue-wait.ts);
 * a model without a recent report has none (counted as 0, and the reason says so).
 */
export function originView(env: Env): OriginView {
  const access = originFor(env);
  if (!access.client)
    return { reachable: false, unreachableReason: access.reason, roundTripMs: null, queueWaitMs: null };
  if (access.client.breaker.state === 'open')
    return {
      reachable: false,
      unreachableReason: 'the origin circuit is open after repeated failures',
      roundTripMs: access.roundTrip.ms,
      queueWaitMs: null,
    };
  const queueWaitByModel: Partial<Record<ModelId, number>> = {};
  for (const model of BUDGET_ORIGIN_MODELS) {
    const waitMs = access.queueWait.waitMs(model);
    if (waitMs !== null) queueWaitByModel[model] = waitMs;
  }
  return { reachable: true, roundTripMs: access.roundTrip.ms, queueWaitMs: null, queueWaitByModel };
}

export async function budgetInputs(env: Env, budgetMs: number): Promise<BudgetInputs> {
  const profiles = await measuredProfiles(env);
  return {
    budgetMs,
    edge: measuredP95(profiles.edge, EDGE_MODELS),
    origin: measuredP95(profiles.origin, BUDGET_ORIGIN_MODELS),
    originView: originView(env),
  };
}

/** The measured origin model tier auto escalates to, or null when the origin profile lacks it. */
export async function escalationTarget(env: Env, model: ModelId): Promise<MeasuredModel | null> {
  const profiles = await measuredProfiles(env);
  return measuredP95(profiles.origin, [model])[0] ?? null;
}

export function selection(
  budgetMs: number,
  expectedMs: number | null,
  budgetMet: boolean,
  reason: string,
): Selection {
  return {
    budget_ms: budgetMs,
    expected_ms: expectedMs === null ? null : Math.round(expectedMs * 10) / 10,
    budget_met: budgetMet,
    reason,
  };
}
