import { describe, expect, it } from 'vitest';
import { ClassifyParamsSchema } from '../../shared/api/classify.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import {
  budgetConflict,
  chooseByBudget,
  escalationFits,
  MAX_BUDGET_MS,
  type MeasuredModel,
  type OriginView,
} from '../../shared/policy/budget.ts';
import { TIERS } from '../../shared/policy/tiers.ts';

// Walk over budgets × measured edge models × measured origin models × origin reachability × round trip
// × queue wait. The oracle restates docs/tiers.md ("Latency budget") by brute force over the candidates.

const B = (n: number) => `efficientnet-b${n}` as ModelId;
const EDGE_SETS: MeasuredModel[][] = [
  [],
  [{ model: B(0), p95Ms: 440 }],
  [
    { model: B(0), p95Ms: 440 },
    { model: B(1), p95Ms: 1040 },
  ],
  // A noisy profile where B1 measured faster than B0: the fastest, not B0, is the fallback.
  [
    { model: B(0), p95Ms: 500 },
    { model: B(1), p95Ms: 300 },
  ],
];
const ORIGIN_SETS: MeasuredModel[][] = [
  [],
  [{ model: B(5), p95Ms: 4474 }],
  [
    { model: B(5), p95Ms: 4474 },
    { model: B(7), p95Ms: 16539 },
  ],
];
const BUDGETS = [1, 100, 440, 441, 1039, 1040, 4000, 4474, 4600, 5000, 16539, 17000, 30000, MAX_BUDGET_MS];
const VIEWS: OriginView[] = [];
for (const reachable of [true, false])
  for (const roundTripMs of [null, 0, 150])
    for (const queueWaitMs of [null, 0, 400])
      VIEWS.push({
        reachable,
        unreachableReason: reachable ? undefined : 'ORIGIN_URL is not set',
        roundTripMs,
        queueWaitMs,
      });

const rank = (m: ModelId) => Number(m.slice(-1));

function oracle(budget: number, edge: MeasuredModel[], origin: MeasuredModel[], view: OriginView) {
  const all = [
    ...edge.map((m) => ({ model: m.model, ms: m.p95Ms })),
    ...(view.reachable
      ? origin.map((m) => ({
          model: m.model,
          ms: m.p95Ms + (view.roundTripMs ?? 0) + (view.queueWaitMs ?? 0),
        }))
      : []),
  ];
  let best: { model: ModelId; ms: number } | undefined;
  for (const c of all) if (c.ms <= budget && (!best || rank(c.model) > rank(best.model))) best = c;
  if (best) return { model: best.model, expectedMs: best.ms, budgetMet: true };
  let fastest: { model: ModelId; ms: number } | undefined;
  for (const c of edge) if (!fastest || c.p95Ms < fastest.ms) fastest = { model: c.model, ms: c.p95Ms };
  return fastest
    ? { model: fastest.model, expectedMs: fastest.ms, budgetMet: false }
    : { model: B(0), expectedMs: null, budgetMet: false };
}

describe('chooseByBudget', () => {
  it('matches the oracle over every combination', () => {
    let walked = 0;
    const chosen = new Set<string>();
    for (const budget of BUDGETS)
      for (const edge of EDGE_SETS)
        for (const origin of ORIGIN_SETS)
          for (const view of VIEWS) {
            const got = chooseByBudget({ budgetMs: budget, edge, origin, originView: view });
            const want = oracle(budget, edge, origin, view);
            const label = JSON.stringify({ budget, edge, origin, view });
            expect({ model: got.model, expectedMs: got.expectedMs, budgetMet: got.budgetMet }, label).toEqual(
              want,
            );
            expect(got.placement, label).toBe(rank(got.model) <= 1 ? 'edge' : 'origin');
            if (got.expectedMs !== null && got.budgetMet) expect(got.expectedMs).toBeLessThanOrEqual(budget);
            expect(got.reason.length, label).toBeGreaterThan(0);
            chosen.add(got.model);
            walked++;
          }
    expect(walked).toBe(BUDGETS.length * EDGE_SETS.length * ORIGIN_SETS.length * VIEWS.length);
    // The walk reaches every kind of answer.
    expect([...chosen].sort()).toEqual([B(0), B(1), B(5), B(7)]);
  });

  it('reads like the issue: 600000 ms picks B7, 1 ms answers B0 with budget_met false', () => {
    const view: OriginView = { reachable: true, roundTripMs: null, queueWaitMs: null };
    const inputs = { edge: EDGE_SETS[2] ?? [], origin: ORIGIN_SETS[2] ?? [], originView: view };
    expect(chooseByBudget({ ...inputs, budgetMs: 600_000 })).toMatchObject({ model: B(7), budgetMet: true });
    const tight = chooseByBudget({ ...inputs, budgetMs: 1 });
    expect(tight).toMatchObject({ model: B(0), placement: 'edge', expectedMs: 440, budgetMet: false });
    // Unknown parts are said, not invented.
    expect(chooseByBudget({ ...inputs, budgetMs: 600_000 }).reason).toContain(
      'no recent queue wait report from the origin',
    );
  });

  it('counts the round trip and the queue wait against the origin', () => {
    const edge = EDGE_SETS[2] ?? [];
    const origin = [{ model: B(5), p95Ms: 4474 }];
    const fits = chooseByBudget({
      budgetMs: 4600,
      edge,
      origin,
      originView: { reachable: true, roundTripMs: 100, queueWaitMs: 0 },
    });
    expect(fits).toMatchObject({ model: B(5), expectedMs: 4574 });
    const over = chooseByBudget({
      budgetMs: 4600,
      edge,
      origin,
      originView: { reachable: true, roundTripMs: 100, queueWaitMs: 50 },
    });
    expect(over).toMatchObject({ model: B(1), expectedMs: 1040 });
  });
});

describe('escalationFits (tier auto)', () => {
  const reachable: OriginView = { reachable: true, roundTripMs: 200, queueWaitMs: null };
  const b5 = { model: B(5), p95Ms: 4474 };
  it('escalates exactly when elapsed + origin p95 + round trip + queue wait fits', () => {
    for (const elapsedMs of [0, 300, 1000])
      for (const budgetMs of [1, 4674, 4974, 5674, 5675, 600_000]) {
        const d = escalationFits({ budgetMs, elapsedMs, origin: b5, originView: reachable });
        expect(d.escalate, `${elapsedMs} ${budgetMs}`).toBe(elapsedMs + 4674 <= budgetMs);
        expect(d.expectedMs).toBe(elapsedMs + 4674);
      }
  });
  it('never escalates to an unmeasured model or an unreachable origin', () => {
    expect(
      escalationFits({ budgetMs: 600_000, elapsedMs: 0, origin: null, originView: reachable }).escalate,
    ).toBe(false);
    const down: OriginView = {
      reachable: false,
      unreachableReason: 'x',
      roundTripMs: null,
      queueWaitMs: null,
    };
    expect(escalationFits({ budgetMs: 600_000, elapsedMs: 0, origin: b5, originView: down }).escalate).toBe(
      false,
    );
  });
});

describe('budgetConflict and the parameter', () => {
  it('refuses a budget with a model or any tier but auto', () => {
    for (const tier of [undefined, ...TIERS]) {
      const message = budgetConflict({ latency_budget_ms: 100, tier });
      if (tier === undefined || tier === 'auto') expect(message, tier).toBeNull();
      else expect(message, tier).toContain(`tier=${tier}`);
    }
    expect(budgetConflict({ latency_budget_ms: 100, model: B(0) })).toContain('not both');
    expect(budgetConflict({ tier: 'fast', model: B(0) })).toBeNull();
  });
  it('accepts 1-600000 and nothing else', () => {
    for (const ok of ['1', '600000', 42])
      expect(ClassifyParamsSchema.safeParse({ latency_budget_ms: ok }).success).toBe(true);
    for (const bad of ['0', '600001', '-5', 'abc', '1.5', 'NaN', ''])
      expect(ClassifyParamsSchema.safeParse({ latency_budget_ms: bad }).success, bad).toBe(false);
  });
});
