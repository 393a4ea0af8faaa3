// One line of a profile: a model measured on one runtime with one provider.
import type { Provider, Runtime } from './args.ts';

/** Workers allow 128 MB per isolate; local workerd does not enforce it, so the profile checks it. */
export const ISOLATE_LIMIT_BYTES = 128 * 1000 * 1000;

export interface ProfileRow {
  variant: string;
  runtime: Runtime;
  /** cpu or cuda for the origin; wasm (one thread) for the edge. */
  provider: Provider | 'wasm';
  p50_ms: number | null;
  p95_ms: number | null;
  /** Session creation + first run (edge: also reading the model from R2 and starting ORT). */
  cold_ms: number | null;
  /** Best throughput (origin: over batch 1, 2, 4, 8; edge: one request at a time). */
  img_s: number | null;
  /** Peak resident memory of the process that ran the model (origin: the Node process; edge: workerd). */
  peak_mib: number | null;
  /** Edge: isolate memory (ORT's WASM heap) under the 128 MB limit. Origin: no such limit, true. */
  fits: boolean | null;
  top1_published: number | null;
  macs: number;
  params: number;
  resolution: number;
  /** Edge: ORT's WASM heap after the runs (the isolate memory that counts against the limit). */
  wasm_heap_mib?: number;
  best_batch?: number;
  img_s_batch1?: number;
  batches?: Record<string, number>;
  warm_runs?: number;
  cold_parts?: Record<string, number>;
  error?: string;
}

export interface Profile {
  runtime: Runtime;
  provider: Provider | 'wasm';
  machine: {
    cpu: string;
    cpus: number;
    memory_gib: number;
    platform: string;
    node: string;
    load_avg_1m: number[];
  };
  date: string;
  notes: string[];
  /** Variants asked for but not run (e.g. left out to save time), with the reason. */
  rows: ProfileRow[];
}
