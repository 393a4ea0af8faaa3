// Percentiles over a handful of timings (nearest rank) and rounding for the JSON rows.

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs `once` up to `runs` times, stopping early (after at least `min`) once `budgetMs` is spent. */
export async function timeRuns(
  once: () => Promise<number>,
  runs: number,
  budgetMs: number,
  min = 3,
): Promise<number[]> {
  const started = performance.now();
  const out: number[] = [];
  while (out.length < runs) {
    out.push(await once());
    if (out.length >= min && performance.now() - started > budgetMs) break;
  }
  return out;
}
