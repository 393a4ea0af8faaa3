// The real edge Worker (edge/index.ts) in local workerd, started through wrangler's unstable_startWorker
// with EfficientNet-B0 in its local R2 bucket, as `npm start` runs it; plus the workerd process's memory.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { unstable_startWorker } from 'wrangler';
import { fillLocalStorage } from '../dev/local-r2.ts';
import { REPO_ROOT } from '../models/build.ts';

/** The API key the fuzzed Worker is configured with; every request sends it as a bearer token. */
export const FUZZ_API_KEY = 'fuzz-local-key';

export interface EdgeOptions {
  /** A folder holding efficientnet-b0/ as the model factory writes it (model.json, model.onnx, ...). */
  modelsDir: string;
  /** Extra Worker vars, e.g. a lower MAX_IMAGE_PIXELS. */
  vars?: Record<string, string>;
}

export interface FuzzEdge {
  url: URL;
  /** The workerd process that runs the Worker's isolate (the one whose memory grows with its work). */
  pid(): number | undefined;
  /** Picks the process again; call once the Worker has served requests (its isolate's memory is then the largest). */
  settle(): void;
  alive(): boolean;
  dispose(): Promise<void>;
}

export async function startEdge(options: EdgeOptions): Promise<FuzzEdge> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  process.env.WRANGLER_SEND_METRICS = 'false';
  const persist = await mkdtemp(path.join(tmpdir(), 'edge-fuzz-'));
  const before = new Set(workerdPids());
  let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
  try {
    await fillLocalStorage(persist, {
      models: [{ id: 'efficientnet-b0', dir: path.join(options.modelsDir, 'efficientnet-b0') }],
    });
    const vars = { API_KEYS: FUZZ_API_KEY, ...options.vars };
    worker = await unstable_startWorker({
      config: path.join(REPO_ROOT, 'wrangler.toml'),
      bindings: Object.fromEntries(
        Object.entries(vars).map(([name, value]) => [name, { type: 'plain_text' as const, value }]),
      ),
      dev: {
        persist,
        server: { hostname: '127.0.0.1', port: 0 },
        inspector: false,
        watch: false,
        logLevel: 'none',
      },
    });
    await worker.ready;
  } catch (error) {
    await worker?.dispose().catch(() => undefined);
    await rm(persist, { recursive: true, force: true });
    throw error;
  }
  const started = worker;
  const url = await started.url;
  let chosen: number | undefined;
  const pid = () => {
    if (chosen !== undefined) return chosen;
    // wrangler may run more than one workerd (a proxy and the Worker's own): the largest is the Worker's.
    const fresh = workerdPids().filter((p) => !before.has(p));
    chosen = fresh.sort((a, b) => (memory(b)?.rssMiB ?? 0) - (memory(a)?.rssMiB ?? 0))[0];
    return chosen;
  };
  return {
    url,
    pid,
    settle: () => {
      chosen = undefined;
    },
    alive: () => {
      const p = pid();
      return p !== undefined && isRunning(p);
    },
    dispose: async () => {
      try {
        await started.dispose();
      } finally {
        await rm(persist, { recursive: true, force: true });
      }
    },
  };
}

/** workerd processes below this one. */
export function workerdPids(): number[] {
  const parent = new Map<number, number>();
  const name = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      name.set(Number(entry), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // it exited while we looked
    }
  }
  const below = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === process.pid) return true;
    return false;
  };
  return [...name].filter(([pid, n]) => n.startsWith('workerd') && below(pid)).map(([pid]) => pid);
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export interface Memory {
  rssMiB: number;
  peakMiB: number;
}

export function memory(pid: number | undefined): Memory | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (needs the same user or root); false where the kernel refuses. */
export function resetPeak(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
