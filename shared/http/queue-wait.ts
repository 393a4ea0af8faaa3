/**
 * Header on every origin response: each served model's current queue wait estimate in milliseconds, as a
 * list of `<model id>=<ms>` (e.g. `efficientnet-b5=0, efficientnet-b7=812.5`). The edge adds the figure
 * to a model's expected latency when latency_budget_ms chooses or escalates (shared/policy/budget.ts).
 */
export const QUEUE_WAIT_HEADER = 'x-queue-wait-ms';

/** At most this many entries are read from one header: the origin serves B2-B7 at most. */
const MAX_ENTRIES = 16;
const MAX_WAIT_MS = 3_600_000;
const ENTRY = /^([a-z0-9][a-z0-9._-]{0,63})=(\d{1,7}(?:\.\d{1,3})?)$/;

export function formatQueueWait(waits: ReadonlyMap<string, number>): string {
  return [...waits].map(([model, ms]) => `${model}=${Math.round(Math.max(0, ms) * 10) / 10}`).join(', ');
}

/** The well-formed entries of a header value; malformed ones are skipped, never guessed at. */
export function parseQueueWait(value: string | null | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!value) return out;
  for (const part of value.split(',').slice(0, MAX_ENTRIES)) {
    const match = ENTRY.exec(part.trim());
    if (!match) continue;
    const ms = Number(match[2]);
    if (Number.isFinite(ms) && ms <= MAX_WAIT_MS) out.set(match[1] as string, ms);
  }
  return out;
}
