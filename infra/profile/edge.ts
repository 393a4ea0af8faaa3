// Edge profile: each variant in real workerd, running the `wrangler deploy --dry-run` bundle with the
// model in local R2, one ORT-web thread. Inference only: POST /_debug/run does one forward pass on a fixed
// input (no image decode), timed from outside the Worker. Memory: workerd's peak RSS (reset through
// clear_refs before the model loads) and ORT's WASM heap, which is what counts against the 128 MB isolate.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bootWorker, bundleWorker } from '../dev/workerd.ts';
import type { ProfileArgs } from './args.ts';
import { describeModel, modelDir } from './models.ts';
import { nulls } from './origin.ts';
import { ISOLATE_LIMIT_BYTES, type ProfileRow } from './row.ts';
import { percentile, round, timeRuns } from './stats.ts';

const MIB = 2 ** 20;

/** workerd processes started by this process (miniflare spawns it as a child), not colleagues' ones. */
function workerdPids(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'workerd') continue;
      // /proc/PID/stat: "pid (comm) state ppid ..."
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid === process.pid) pids.add(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function statusKib(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/**
 * Peak RSS of the workerd child that holds the model: wrangler runs more than one workerd (its proxy and
 * the Worker), and the one holding the model is the largest now.
 */
function modelHolderPeakKib(pids: readonly number[]): number {
  const holder = [...pids].sort((a, b) => (statusKib(b, 'VmRSS') || 0) - (statusKib(a, 'VmRSS') || 0))[0];
  return holder === undefined ? Number.NaN : statusKib(holder, 'VmHWM');
}

interface RunAnswer {
  wasm_heap_bytes: number;
  load_ms?: Record<string, number>;
}

export async function profileEdge(args: ProfileArgs, log: (line: string) => void): Promise<ProfileRow[]> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'profile-edge-'));
  const rows: ProfileRow[] = [];
  try {
    log('[profile] bundling the Worker as deployed');
    const prebuilt = await bundleWorker(path.join(scratch, 'bundle'));
    for (const token of args.variants) {
      const model = describeModel(token);
      const dir = await modelDir(model, log, true);
      const base = {
        variant: token,
        runtime: 'edge' as const,
        provider: 'wasm' as const,
        top1_published: model.top1Published,
        macs: model.macs,
        params: model.params,
        resolution: model.resolution,
      };
      log(`[profile] edge ${model.id}`);
      const worker = await bootWorker({
        models: [{ id: model.id, dir }],
        vars: { DEBUG_ROUTES: '1', ALLOW_OPEN_API: '1' },
        prebuilt,
        logLevel: 'none',
      });
      try {
        const ours = [...workerdPids()];
        for (const pid of ours) writeFileSync(`/proc/${pid}/clear_refs`, '5');
        let last: RunAnswer = { wasm_heap_bytes: 0 };
        const once = async () => {
          const started = performance.now();
          const response = await worker.fetch(`/_debug/run?model=${model.id}`, { method: 'POST' });
          const body = (await response.json()) as RunAnswer;
          const elapsed = performance.now() - started;
          if (response.status !== 200) throw new Error(`/_debug/run answered ${response.status}`);
          last = body;
          return elapsed;
        };
        const cold = await once();
        const parts = last.load_ms;
        await once(); // warm-up
        const warm = await timeRuns(once, args.runs, args.budgetS * 1000);
        const peak = modelHolderPeakKib(ours);
        const heap = last.wasm_heap_bytes;
        const p50 = percentile(warm, 0.5);
        rows.push({
          ...base,
          p50_ms: round(p50),
          p95_ms: round(percentile(warm, 0.95)),
          cold_ms: round(cold),
          img_s: round(1000 / p50, 2),
          // A peak below the WASM heap cannot be the process holding the model: report none.
          peak_mib: Number.isFinite(peak) && peak * 1024 >= heap ? Math.round(peak / 1024) : null,
          fits: heap <= ISOLATE_LIMIT_BYTES,
          wasm_heap_mib: round(heap / MIB),
          warm_runs: warm.length,
          ...(parts
            ? {
                cold_parts: Object.fromEntries(
                  Object.entries(parts)
                    .filter(([k]) => k.endsWith('_ms'))
                    .map(([k, v]) => [k, round(v)]),
                ),
              }
            : {}),
        });
      } catch (error) {
        rows.push({ ...base, ...nulls(), error: error instanceof Error ? error.message : String(error) });
      } finally {
        await worker.dispose();
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return rows;
}
