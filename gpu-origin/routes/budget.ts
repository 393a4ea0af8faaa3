// latency_budget_ms at the origin. The budget is a deadline counted from arrival (the tighter of it and
// x-deadline-ms applies), and the origin refuses at once what it expects to miss: a caller with a fallback
// (the edge answers with its own model) learns now instead of after the budget is spent. Without a model
// or fixed tier the budget chooses, as on the edge: the most accurate served model whose expected time
// (its measured p95 plus its queue wait estimate) fits the time left. A budget with `model` or a tier other
// than auto is a 400, as on the edge (shared/policy/budget.ts).
import type { Selection } from '../../shared/api/classify.ts';
import { MODEL_IDS, type ModelId } from '../../shared/catalog/models.ts';
import { ApiError } from '../../shared/http/errors.ts';
import { accuracyRank, budgetConflict } from '../../shared/policy/budget.ts';
import type { ModelRegistry, ServedModel } from '../models/registry.ts';

/** The 400 for a budget that contradicts the request's model or tier. */
export function checkBudgetConflict(params: Parameters<typeof budgetConflict>[0]): void {
  const conflict = budgetConflict(params);
  if (conflict) throw new ApiError('invalid_parameter', conflict);
}

/** The absolute deadline once the budget is counted: the tighter of the two. */
export function deadlineWithBudget(
  deadlineAt: number,
  arrivedAt: number,
  budgetMs: number | undefined,
): number {
  return budgetMs === undefined ? deadlineAt : Math.min(deadlineAt, arrivedAt + budgetMs);
}

/** What the origin expects a request for `model` sent now to take: p95 + queue wait; null if unmeasured. */
export function expectedMs(model: ServedModel): number | null {
  if (!model.latency) return null;
  return model.latency.p95_ms + model.batcher.expectedWaitMs();
}

const rank = (model: ServedModel) =>
  (MODEL_IDS as readonly string[]).includes(model.manifest.id)
    ? accuracyRank(model.manifest.id as ModelId)
    : -1;
const round = (ms: number) => Math.round(ms * 10) / 10;

function describe(model: ServedModel, expected: number): string {
  const wait = expected - (model.latency?.p95_ms ?? 0);
  return `${model.manifest.id}: p95 ${round(model.latency?.p95_ms ?? 0)} ms + queue wait ${round(wait)} ms`;
}

function tooLate(budgetMs: number, leftMs: number, detail: string): never {
  throw new ApiError(
    'deadline_exceeded',
    `Not expected within the latency budget of ${budgetMs} ms (${round(Math.max(0, leftMs))} ms left here): ${detail}.`,
  );
}

/** The budget chooses: the most accurate served model expected to fit `leftMs`, or a 504 at once. */
export function chooseByBudget(
  registry: ModelRegistry,
  budgetMs: number,
  leftMs: number,
): { model: ServedModel; selection: Selection } {
  const priced = registry
    .list()
    .map((model) => ({ model, expected: expectedMs(model) }))
    .filter((c): c is { model: ServedModel; expected: number } => c.expected !== null);
  if (priced.length === 0) tooLate(budgetMs, leftMs, 'no model served here has a measured latency');
  const fitting = priced
    .filter((c) => c.expected <= leftMs)
    .sort((a, b) => rank(b.model) - rank(a.model) || a.expected - b.expected);
  const best = fitting[0];
  if (!best) {
    const fastest = [...priced].sort((a, b) => a.expected - b.expected)[0] as (typeof priced)[number];
    tooLate(budgetMs, leftMs, `the fastest model here is ${describe(fastest.model, fastest.expected)}`);
  }
  return {
    model: best.model,
    selection: {
      budget_ms: budgetMs,
      expected_ms: round(best.expected),
      budget_met: true,
      reason: `${best.model.manifest.id} is the most accurate model served here expected within the budget (${describe(best.model, best.expected)})`,
    },
  };
}
