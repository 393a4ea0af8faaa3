// The three measurements of the load test. Each takes a target and settings and returns plain data; the CLI
// decides what to run and judges the criteria.
import { offer, type RequestRecord } from './drive.ts';
import type { LoadTarget } from './stack.ts';
import {
  counterDelta,
  failureKey,
  parseCounters,
  percentile,
  round,
  type StepSummary,
  summarise,
} from './stats.ts';

export interface Payload {
  body: Uint8Array;
  contentType: string;
}

export interface Timing {
  /** Length of one capacity step… */
  stepSeconds: number;
  /** …stretched so that it sends at least this many requests (a p99 of three samples says little). */
  minStepRequests: number;
  /** Requests in the unloaded baseline (one at a time, after a short warm-up). */
  unloadedRequests: number;
  overloadSeconds: number;
  chaosSeconds: number;
  /** Kill the origin this many seconds into the chaos load… */
  killAtSeconds: number;
  /** …and start it again this many seconds later. */
  restartAfterSeconds: number;
  /** Longest wait for answers after a phase's offer ends; later ones count as hung. */
  drainMs: number;
}

const classifyUrl = (target: LoadTarget, query: string) => `${target.edgeUrl}/v1/classify?${query}`;
const ACCURATE = 'tier=accurate';

export interface Unloaded {
  requests: number;
  p50_ms: number;
  p99_ms: number;
  /** Anything but 200 in the baseline means the stack is not healthy enough to measure. */
  non_2xx: number;
}

export async function measureUnloaded(
  target: LoadTarget,
  payload: Payload,
  timing: Timing,
): Promise<Unloaded> {
  const url = classifyUrl(target, ACCURATE);
  const base = { url, ...payload, headers: target.headers, drainMs: timing.drainMs };
  // Warm-up: first requests pay for connections and lazily built state on both sides.
  await offer({ ...base, sequential: 3 });
  const records = await offer({ ...base, sequential: timing.unloadedRequests });
  const ok = records.filter((r) => r.status === 200).map((r) => r.latencyMs);
  return {
    requests: records.length,
    p50_ms: round(percentile(ok, 50)),
    p99_ms: round(percentile(ok, 99)),
    non_2xx: records.length - ok.length,
  };
}

export interface CapacityStep extends StepSummary {
  pass: boolean;
}

export interface Capacity {
  capacity_rps: number;
  /** p99 a step may reach: 2 × the unloaded p99. */
  p99_limit_ms: number;
  steps: CapacityStep[];
}

/**
 * The highest offered rate whose admitted p99 stays within 2× the unloaded p99 with every request answered
 * 200. Rates grow by `growth` from about half the one-at-a-time service rate until a step fails, then the
 * gap between the last pass and the first failure is bisected.
 */
export async function findCapacity(
  target: LoadTarget,
  payload: Payload,
  timing: Timing,
  unloaded: Unloaded,
  log: (line: string) => void,
  search = { growth: 1.4, refinements: 2, maxSteps: 12 },
): Promise<Capacity> {
  const limit = 2 * unloaded.p99_ms;
  const steps: CapacityStep[] = [];
  const run = async (rate: number): Promise<boolean> => {
    const seconds = Math.max(timing.stepSeconds, Math.ceil(timing.minStepRequests / rate));
    const records = await offer({
      url: classifyUrl(target, ACCURATE),
      ...payload,
      headers: target.headers,
      rate,
      seconds,
      drainMs: timing.drainMs,
    });
    const summary = summarise(records, rate, seconds);
    const pass = summary.ok === summary.sent && summary.sent > 0 && summary.p99_ms <= limit;
    steps.push({ ...summary, pass });
    log(
      `  ${rate.toFixed(2)} rps: p50 ${summary.p50_ms} ms, p99 ${summary.p99_ms} ms (limit ${limit}), ` +
        `${summary.ok}/${summary.sent} ok, ${summary.shed_429} shed, ${summary.errors_5xx} 5xx → ${pass ? 'pass' : 'fail'}`,
    );
    return pass;
  };

  const serviceRate = 1000 / unloaded.p50_ms;
  let rate = roundRate(serviceRate / 2);
  let lastPass = 0;
  let firstFail = Number.POSITIVE_INFINITY;
  while (steps.length < search.maxSteps && !Number.isFinite(firstFail)) {
    if (await run(rate)) {
      lastPass = rate;
      rate = roundRate(rate * search.growth);
    } else {
      firstFail = rate;
    }
  }
  // Nothing passed: step down instead, so there is a floor to report.
  while (lastPass === 0 && steps.length < search.maxSteps) {
    rate = roundRate(rate / search.growth);
    if (rate < 0.05) break;
    if (await run(rate)) lastPass = rate;
    else firstFail = rate;
  }
  for (let i = 0; i < search.refinements && lastPass > 0 && Number.isFinite(firstFail); i++) {
    const mid = roundRate((lastPass + firstFail) / 2);
    if (mid <= lastPass || mid >= firstFail) break;
    if (await run(mid)) lastPass = mid;
    else firstFail = mid;
  }
  return { capacity_rps: lastPass, p99_limit_ms: round(limit), steps };
}

/** Rates on a 0.05 rps grid, so steps read cleanly in the table. */
function roundRate(rate: number): number {
  return Math.max(0.05, Math.round(rate * 20) / 20);
}

export interface Overload extends StepSummary {
  admitted_p99_ms: number;
  /** The origin's own counters over the run (its /metrics), when its URL is known: where shedding happened. */
  origin_counters: Record<string, number> | null;
}

const ORIGIN_COUNTERS = ['origin_http_requests_total', 'origin_batch_rejections_total'];

async function scrapeOrigin(target: LoadTarget): Promise<Map<string, number> | null> {
  if (!target.originUrl) return null;
  try {
    const response = await fetch(`${target.originUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    return response.ok ? parseCounters(await response.text(), ORIGIN_COUNTERS) : null;
  } catch {
    return null;
  }
}

export async function overload(
  target: LoadTarget,
  payload: Payload,
  timing: Timing,
  rate: number,
): Promise<Overload> {
  const before = await scrapeOrigin(target);
  const records = await offer({
    url: classifyUrl(target, ACCURATE),
    ...payload,
    headers: target.headers,
    rate,
    seconds: timing.overloadSeconds,
    drainMs: timing.drainMs,
  });
  const summary = summarise(records, rate, timing.overloadSeconds);
  const after = await scrapeOrigin(target);
  return {
    ...summary,
    admitted_p99_ms: summary.p99_ms,
    origin_counters: before && after ? counterDelta(before, after) : null,
  };
}

export interface Chaos {
  offered_rps: number;
  /** Seconds of load offered (30 s, plus any 5 s extensions while waiting for escalations to return). */
  seconds: number;
  requests: number;
  /** Anything but a 200 answer: an error status, a connection error or a hang. */
  failed: number;
  failed_by_status: Record<string, number>;
  /** The first failed requests: when sent, how long they took, what they got. */
  failures: { sent_s: number; latency_ms: number; what: string }[];
  degraded: number;
  /** Degraded answers without a degraded_reason. */
  degraded_unflagged: number;
  escalated: number;
  /** Escalated answers to requests sent before the kill: proof the path worked before the fault. */
  escalated_before_kill: number;
  /** 200s that are neither escalated nor flagged degraded: with min_confidence=1 there should be none. */
  unexplained: number;
  degraded_reasons: Record<string, number>;
  killed_at_s: number;
  restarted_at_s: number;
  /** From the restart to the origin reporting ready. */
  origin_ready_s: number;
  /** From the restart to the first escalated answer to a request sent after the kill; null if none. */
  recovered_s: number | null;
  p99_ms: number;
  /** Latency minus the edge handler's own total, for 200s: waiting for the isolate, and the wire. */
  outside_handler_p50_ms: number;
  outside_handler_max_ms: number;
  /** Per second of the run: answers by kind, for the timeline. */
  timeline: { second: number; escalated: number; degraded: number; failed: number }[];
}

/**
 * tier=auto with min_confidence=1 escalates every request (an untrained B0 never reaches probability 1). The
 * origin is killed with SIGKILL during the load and started again later; the load is extended in short
 * slices, up to `maxExtraSeconds`, until escalations are seen again.
 */
export async function chaos(
  target: LoadTarget,
  payload: Payload,
  timing: Timing,
  rate: number,
  log: (line: string) => void,
  maxExtraSeconds = 60,
): Promise<Chaos> {
  const control = target.chaos;
  if (!control) throw new Error('chaos needs the local stack (it kills and restarts the origin)');
  const url = classifyUrl(target, 'tier=auto&min_confidence=1');
  // Warm-up, not counted: the first auto request loads B0 into the edge isolate, which takes seconds.
  await offer({ url, ...payload, headers: target.headers, sequential: 2, drainMs: timing.drainMs });
  const started = performance.now();
  const at = () => (performance.now() - started) / 1000;
  let killedAt = Number.NaN;
  let restartedAt = Number.NaN;
  let readyAt = Number.NaN;

  const faults = (async () => {
    await sleep(timing.killAtSeconds * 1000);
    await control.killOrigin();
    killedAt = at();
    log(`  ${killedAt.toFixed(1)} s: origin killed (SIGKILL)`);
    await sleep(timing.restartAfterSeconds * 1000);
    restartedAt = at();
    log(`  ${restartedAt.toFixed(1)} s: origin restarting`);
    await control.startOrigin();
    readyAt = at();
    log(`  ${readyAt.toFixed(1)} s: origin ready`);
  })();

  const base = { url, ...payload, headers: target.headers, rate, drainMs: timing.drainMs };
  const records: RequestRecord[] = await offer({ ...base, seconds: timing.chaosSeconds });
  let seconds = timing.chaosSeconds;
  const recovered = () =>
    records.some((r) => r.escalated === true && r.sentAtMs / 1000 > killedAt && r.status === 200);
  while (!recovered() && seconds < timing.chaosSeconds + maxExtraSeconds) {
    // Records are timed from their own offer's start; shift them onto this phase's clock.
    const offset = performance.now() - started;
    log(`  no escalation since the restart yet: extending the load by 5 s`);
    const more = await offer({ ...base, seconds: 5 });
    for (const r of more) records.push({ ...r, sentAtMs: r.sentAtMs + offset });
    seconds += 5;
  }
  await faults;

  const failed = records.filter((r) => r.status !== 200);
  const failedByStatus: Record<string, number> = {};
  for (const r of failed) {
    const key = failureKey(r);
    failedByStatus[key] = (failedByStatus[key] ?? 0) + 1;
  }
  const ok = records.filter((r) => r.status === 200);
  const degraded = ok.filter((r) => r.degraded === true);
  const reasons: Record<string, number> = {};
  for (const r of degraded)
    reasons[r.degradedReason ?? 'none'] = (reasons[r.degradedReason ?? 'none'] ?? 0) + 1;
  const outside = ok.filter((r) => r.handlerMs !== undefined).map((r) => r.latencyMs - (r.handlerMs ?? 0));
  const firstBack = records
    .filter((r) => r.escalated === true && r.status === 200 && r.sentAtMs / 1000 > killedAt)
    .map((r) => (r.sentAtMs + r.latencyMs) / 1000)
    .sort((a, b) => a - b)[0];
  const timeline: Chaos['timeline'] = [];
  const lastSecond = Math.max(0, ...records.map((r) => Math.floor(r.sentAtMs / 1000)));
  for (let s = 0; s <= lastSecond; s++) {
    const inSecond = records.filter((r) => Math.floor(r.sentAtMs / 1000) === s);
    timeline.push({
      second: s,
      escalated: inSecond.filter((r) => r.status === 200 && r.escalated === true).length,
      degraded: inSecond.filter((r) => r.status === 200 && r.degraded === true).length,
      failed: inSecond.filter((r) => r.status !== 200).length,
    });
  }
  return {
    offered_rps: rate,
    seconds,
    requests: records.length,
    failed: failed.length,
    failed_by_status: failedByStatus,
    failures: failed.slice(0, 20).map((r) => ({
      sent_s: round(r.sentAtMs / 1000),
      latency_ms: round(r.latencyMs),
      what: failureKey(r),
    })),
    degraded: degraded.length,
    degraded_unflagged: degraded.filter((r) => !r.degradedReason).length,
    escalated: ok.filter((r) => r.escalated === true).length,
    escalated_before_kill: ok.filter((r) => r.escalated === true && r.sentAtMs / 1000 < killedAt).length,
    unexplained: ok.filter((r) => r.escalated !== true && r.degraded !== true).length,
    degraded_reasons: reasons,
    killed_at_s: round(killedAt),
    restarted_at_s: round(restartedAt),
    origin_ready_s: round(readyAt - restartedAt),
    recovered_s: firstBack === undefined ? null : round(firstBack - restartedAt),
    p99_ms: round(
      percentile(
        ok.map((r) => r.latencyMs),
        99,
      ),
    ),
    outside_handler_p50_ms: round(percentile(outside, 50)),
    outside_handler_max_ms: round(percentile(outside, 100)),
    timeline,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
