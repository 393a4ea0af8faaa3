// Runs fuzz cases one after another against one workerd, classifies every answer, watches the workerd
// process's memory, and restarts it (counting the restart) when it dies or stops answering.
import os from 'node:os';
import { ERROR_STATUS, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { fetchThroughDevProxy } from '../dev/workerd.ts';
import { type Base, makeBases } from './bases.ts';
import { type FuzzCase, makeCase, requestFor } from './cases.ts';
import { type EdgeOptions, FUZZ_API_KEY, type FuzzEdge, memory, resetPeak, startEdge } from './edge.ts';

export type Verdict = 'ok_200' | 'rejected_4xx' | 'error_5xx' | 'bad_4xx' | 'crash' | 'hang';

export interface CampaignOptions extends EdgeOptions {
  cases: number;
  seed: number;
  /** Only these case indices (to reproduce failures); default 0..cases-1. */
  only?: readonly number[];
  /** Per-request limit; past it the case is a hang and workerd is restarted. */
  timeoutMs?: number;
  /** A request whose workerd peak (VmHWM) grows more than this over the RSS before it is a memory spike. */
  spikeMiB?: number;
  /** How many failing cases to list. */
  listFailures?: number;
  progress?: (done: number, total: number) => void;
}

interface Tally {
  cases: number;
  ok_200: number;
  rejected_4xx: number;
  errors: number;
  crashes: number;
  hangs: number;
  spikes: number;
  peak_added_mib_max: number;
}

const emptyTally = (): Tally => ({
  cases: 0,
  ok_200: 0,
  rejected_4xx: 0,
  errors: 0,
  crashes: 0,
  hangs: 0,
  spikes: 0,
  peak_added_mib_max: 0,
});

export interface Failure {
  case: number;
  kind: Verdict | 'memory_spike';
  status?: number;
  base: string;
  mutation: string;
  form: string;
  detail: string;
  answer: string;
  peak_added_mib?: number;
}

export interface CaseResult {
  verdict: Verdict;
  status?: number;
  code?: string;
  answer: string;
  peakAddedMiB?: number;
}

function tallyOf<T>(table: Record<string, T>, key: string, make: () => T): T {
  const found = table[key];
  if (found !== undefined) return found;
  const made = make();
  table[key] = made;
  return made;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** 200 with predictions, or a 4xx in the project's envelope with the status its code maps to. */
export function judge(status: number, body: string): Omit<CaseResult, 'peakAddedMiB'> {
  const answer = body.slice(0, 200);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (status === 200) {
    const ok = Array.isArray((json as { predictions?: unknown } | undefined)?.predictions);
    return { verdict: ok ? 'ok_200' : 'error_5xx', status, answer };
  }
  if (status >= 500) return { verdict: 'error_5xx', status, answer };
  const envelope = ErrorEnvelopeSchema.safeParse(json);
  if (status >= 400 && envelope.success && ERROR_STATUS[envelope.data.error.code] === status)
    return { verdict: 'rejected_4xx', status, code: envelope.data.error.code, answer };
  return { verdict: 'bad_4xx', status, answer };
}

export type Sendable = Pick<FuzzCase, 'bytes' | 'contentType' | 'form'>;

/** One POST /v1/classify?tier=fast, judged, with the workerd peak memory it added (VmHWM over prior RSS). */
export async function send(edge: FuzzEdge, c: Sendable, timeoutMs: number): Promise<CaseResult> {
  const { path, init } = requestFor(c, FUZZ_API_KEY);
  const pid = edge.pid();
  const before = memory(pid);
  const peakReset = resetPeak(pid);
  try {
    const response = await fetchThroughDevProxy(new URL(path, edge.url), {
      ...init,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    const after = memory(pid);
    const peakAddedMiB =
      peakReset && before && after ? Math.max(0, after.peakMiB - before.rssMiB) : undefined;
    return { ...judge(response.status, body), ...(peakAddedMiB !== undefined ? { peakAddedMiB } : {}) };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError')
      return { verdict: 'hang', answer: `no answer within ${timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      verdict: 'crash',
      answer: `${(error as Error).message}: ${cause?.code ?? cause?.message ?? ''}`,
    };
  }
}

/**
 * Runs the cases on `edge` (started here when absent) and returns the report with the edge still running:
 * after a crash or hang it is a fresh one, so callers dispose the edge returned, not the one given.
 */
export async function runCampaign(options: CampaignOptions, given?: FuzzEdge) {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const spikeMiB = options.spikeMiB ?? 64;
  const started = performance.now();
  const loadBefore = os.loadavg()[0] ?? 0;
  const bases = await makeBases();
  const indices = options.only ?? Array.from({ length: options.cases }, (_, i) => i);

  const totals = emptyTally();
  const byMutation: Record<string, Tally> = {};
  const byBase: Record<string, Tally> = {};
  const codes: Record<string, number> = {};
  const failures: Failure[] = [];
  let restarts = 0;
  let rssGrowth = 0;

  let edge = given ?? (await startEdge(options));
  const latencies: Record<string, number[]> = {};
  let baseline = await warmUp(edge, bases, timeoutMs);
  const baseStatus = baseline.statuses;

  const closeSegment = async (current: FuzzEdge) => {
    const end = memory(current.pid());
    if (end && baseline.rssMiB !== undefined) rssGrowth += end.rssMiB - baseline.rssMiB;
  };

  for (const [done, index] of indices.entries()) {
    const c = makeCase(bases, options.seed, index);
    const sent = performance.now();
    const answered = await send(edge, c, timeoutMs);
    // wrangler's proxy answers for a workerd that died mid-request (a 503): that is a crash, not a 5xx.
    const died = answered.verdict !== 'hang' && !edge.alive();
    const result: CaseResult = died
      ? { verdict: 'crash', answer: `workerd exited; the client got: ${answered.answer}` }
      : answered;
    tallyOf(latencies, result.verdict, () => []).push(performance.now() - sent);
    const tallies = [
      totals,
      tallyOf(byMutation, c.mutation, emptyTally),
      tallyOf(byBase, c.base, emptyTally),
    ];
    const spike = (result.peakAddedMiB ?? 0) > spikeMiB;
    for (const t of tallies) {
      t.cases++;
      if (result.verdict === 'ok_200') t.ok_200++;
      else if (result.verdict === 'rejected_4xx') t.rejected_4xx++;
      else if (result.verdict === 'crash') t.crashes++;
      else if (result.verdict === 'hang') t.hangs++;
      else t.errors++;
      if (spike) t.spikes++;
      t.peak_added_mib_max = Math.max(t.peak_added_mib_max, round(result.peakAddedMiB ?? 0));
    }
    if (result.code) codes[result.code] = (codes[result.code] ?? 0) + 1;
    const failed = !['ok_200', 'rejected_4xx'].includes(result.verdict);
    if ((failed || spike) && failures.length < (options.listFailures ?? 10)) {
      failures.push({
        case: index,
        kind: failed ? result.verdict : 'memory_spike',
        ...(result.status !== undefined ? { status: result.status } : {}),
        base: c.base,
        mutation: c.mutation,
        form: c.form,
        detail: c.detail,
        answer: result.answer,
        ...(result.peakAddedMiB !== undefined ? { peak_added_mib: round(result.peakAddedMiB) } : {}),
      });
    }
    // A dead or stuck workerd is replaced, so that one failure does not turn every later case into one.
    if (result.verdict === 'hang' || result.verdict === 'crash') {
      await closeSegment(edge);
      await edge.dispose().catch(() => undefined);
      restarts++;
      edge = await startEdge(options);
      baseline = await warmUp(edge, bases, timeoutMs);
    }
    options.progress?.(done + 1, indices.length);
  }

  // Repeated failures, then a valid image: the isolate must still answer it.
  const healthBase = bases[0] as Base;
  const final = await send(
    edge,
    { ...makeCase(bases, options.seed, 0), ...validCase(healthBase) },
    timeoutMs,
  );
  await closeSegment(edge);

  const elapsed = (performance.now() - started) / 1000;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const report = {
    cases: totals.cases,
    ok_200: totals.ok_200,
    rejected_4xx: totals.rejected_4xx,
    errors_5xx: totals.errors,
    crashes: totals.crashes,
    hangs: totals.hangs,
    rss_growth_mib: round(rssGrowth),
    peak_added_mib_max: totals.peak_added_mib_max,
    memory_spikes: totals.spikes,
    spike_threshold_mib: spikeMiB,
    restarts,
    final_valid_request: final.verdict,
    seed: options.seed,
    timeout_ms: timeoutMs,
    by_mutation: byMutation,
    by_base: byBase,
    rejection_codes: codes,
    bases: Object.fromEntries(
      bases.map((b) => [
        b.name,
        { size: `${b.width}x${b.height}`, bytes: b.bytes.length, status: baseStatus[b.name] },
      ]),
    ),
    failures,
    reproduce: `npm run fuzz -- --json --seed ${options.seed} --case <index>`,
    median_ms: Object.fromEntries(Object.entries(latencies).map(([k, xs]) => [k, Math.round(median(xs))])),
    meta: {
      elapsed_s: round(elapsed),
      cases_per_s: round(totals.cases / elapsed, 2),
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      load_avg_1m: [round(loadBefore, 2), round(os.loadavg()[0] ?? 0, 2)],
      node: process.version,
      date: new Date().toISOString(),
    },
  };
  return { report, edge };
}

export type CampaignReport = Awaited<ReturnType<typeof runCampaign>>['report'];

const validCase = (base: Base) => ({
  bytes: base.bytes,
  contentType: base.type,
  form: 'raw' as const,
  base: base.name,
  detail: 'unmutated',
});

/**
 * Each base once, unmutated: loads the model and instantiates every codec, so the RSS baseline that the
 * growth is measured from already holds them. Returns each base's status (some variants are rejected
 * by design, e.g. CMYK JPEG or animated WebP) and the RSS after.
 */
async function warmUp(edge: FuzzEdge, bases: readonly Base[], timeoutMs: number) {
  const statuses: Record<string, number | string> = {};
  for (const base of bases) {
    const result = await send(edge, { ...makeCase(bases, 0, 0), ...validCase(base) }, timeoutMs);
    statuses[base.name] = result.status ?? result.verdict;
  }
  edge.settle();
  return { statuses, rssMiB: memory(edge.pid())?.rssMiB };
}
