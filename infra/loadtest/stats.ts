import type { RequestRecord } from './drive.ts';

/** Nearest-rank percentile (p in 0-100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface StepSummary {
  offered_rps: number;
  seconds: number;
  sent: number;
  /** Requests sent per second as measured; below offered_rps when the generator fell behind. */
  sent_rps: number;
  ok: number;
  shed_429: number;
  /** 429s without a usable Retry-After header. */
  shed_without_retry_after: number;
  errors_5xx: number;
  /** 5xx by status, error code and the edge's stated reason, e.g. { "503 origin_unavailable (origin_error)": 12 }. */
  errors_5xx_by_code: Record<string, number>;
  other_4xx: number;
  connection_errors: number;
  hung: number;
  /** Latency of 2xx answers (the admitted requests), ms. */
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /**
   * Latency minus the edge handler's own total (timings_ms.total) for 2xx answers: time spent before the
   * handler ran (waiting for the isolate) and on the wire. Large values mean the edge queues.
   */
  outside_handler_p50_ms: number;
  outside_handler_p99_ms: number;
}

export function summarise(
  records: readonly RequestRecord[],
  offeredRps: number,
  seconds: number,
): StepSummary {
  const ok = records.filter((r) => r.status >= 200 && r.status < 300);
  const shed = records.filter((r) => r.status === 429);
  const errors5xx = records.filter((r) => r.status >= 500);
  const byCode: Record<string, number> = {};
  for (const r of errors5xx) {
    const key = failureKey(r);
    byCode[key] = (byCode[key] ?? 0) + 1;
  }
  const latencies = ok.map((r) => r.latencyMs);
  const outside = ok.filter((r) => r.handlerMs !== undefined).map((r) => r.latencyMs - (r.handlerMs ?? 0));
  return {
    offered_rps: round(offeredRps, 2),
    seconds,
    sent: records.length,
    sent_rps: round(records.length / seconds, 2),
    ok: ok.length,
    shed_429: shed.length,
    shed_without_retry_after: shed.filter((r) => !/^\d+$/.test(r.retryAfter?.trim() ?? '')).length,
    errors_5xx: errors5xx.length,
    errors_5xx_by_code: byCode,
    other_4xx: records.filter((r) => r.status >= 400 && r.status < 500 && r.status !== 429).length,
    connection_errors: records.filter((r) => r.failure === 'connection').length,
    hung: records.filter((r) => r.failure === 'hang').length,
    p50_ms: round(percentile(latencies, 50)),
    p90_ms: round(percentile(latencies, 90)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(latencies.length ? Math.max(...latencies) : Number.NaN),
    outside_handler_p50_ms: round(percentile(outside, 50)),
    outside_handler_p99_ms: round(percentile(outside, 99)),
  };
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** "503 origin_unavailable (origin_circuit_open)": status, envelope code and the reason the edge names. */
export function failureKey(r: RequestRecord): string {
  if (r.failure) return r.failure;
  const reason = /\((origin_[a-z_]+)\)/.exec(r.errorMessage ?? '')?.[1];
  const code = r.errorCode ?? `no envelope: ${JSON.stringify(r.errorMessage?.slice(0, 60) ?? '')}`;
  return `${r.status} ${code}${reason ? ` (${reason})` : ''}`;
}

/** Counter samples from a Prometheus text page: "name{labels}" → value, for the names asked for. */
export function parseCounters(text: string, names: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || !names.includes(match[1] as string)) continue;
    out.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return out;
}

/** What changed between two scrapes (only counters that moved). */
export function counterDelta(
  before: Map<string, number>,
  after: Map<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) out[key] = delta;
  }
  return out;
}
