// The real edge Worker (edge/index.ts) in local workerd, booted by infra/dev/workerd.ts with
// EfficientNet-B0 in its local R2 bucket, as `npm start` runs it; plus the workerd process's memory.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bootWorker } from '../dev/workerd.ts';

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
  const before = new Set(workerdPids());
  const { API_KEYS = FUZZ_API_KEY, ...vars } = options.vars ?? {};
  const worker = await bootWorker({
    models: [{ id: 'efficientnet-b0', dir: path.join(options.modelsDir, 'efficientnet-b0') }],
    vars,
    secrets: { API_KEYS },
    logLevel: 'none',
  });
  const url = worker.url;
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
    dispose: () => worker.dispose(),
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
