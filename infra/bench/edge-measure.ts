// Building blocks of the edge benchmark: a booted Worker that classifies one JPEG and reports what it
// measured, the same graph on onnxruntime-node with one thread, and small statistics.
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import sharp from 'sharp';
import { type ModelId, preprocessFor } from '../../shared/catalog/models.ts';
import { preprocess } from '../../shared/preprocess/index.ts';
import { bootWorker, type ModelFiles } from '../dev/workerd.ts';

export const MIB = 2 ** 20;

export const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Interquartile range over the median: how noisy the machine was during a measurement. */
export function spread(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return (at(0.75) - at(0.25)) / median(xs);
}

export interface Scenario {
  model: ModelId;
  files: readonly ModelFiles[];
  vars?: Record<string, string>;
}

type Timings = Record<'decode' | 'preprocess' | 'inference' | 'total', number>;
export interface Sample {
  elapsed: number;
  timings: Timings;
}

/** The Worker's own account of a model load (edge/inference/registry.ts), from /_debug/inference. */
export interface LoadTimings {
  manifest_ms: number;
  r2_read_ms: number;
  wasm_instantiate_ms: number;
  session_create_ms: number;
  model_bytes: number;
}

export interface EdgeUnderTest {
  /** One POST /v1/classify?model=<model>; elapsed is measured by the client. */
  classify(model: ModelId): Promise<Sample>;
  heapBytes(): Promise<number>;
  loadTimings(model: ModelId): Promise<LoadTimings | undefined>;
  dispose(): Promise<void>;
}

/** A fresh Worker (fresh isolate) running the prebuilt bundle, with `files` in its bucket. */
export async function startEdge(
  scenario: Scenario,
  jpeg: Uint8Array<ArrayBuffer>,
  prebuilt: string,
): Promise<EdgeUnderTest> {
  const worker = await bootWorker({
    models: scenario.files,
    // The same JPEG again and again would be answered by the result cache; these rows measure the model.
    vars: { DEBUG_ROUTES: '1', ALLOW_OPEN_API: '1', RESULT_CACHE_TTL_S: '0', ...scenario.vars },
    prebuilt,
    logLevel: 'none',
  });
  return {
    classify: async (model) => {
      const started = performance.now();
      const response = await worker.fetch(`/v1/classify?model=${model}`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: jpeg,
      });
      const body = (await response.json()) as { timings_ms?: Timings };
      const elapsed = performance.now() - started;
      if (response.status !== 200 || !body.timings_ms) {
        throw new Error(`classify answered ${response.status}: ${JSON.stringify(body)}`);
      }
      return { elapsed, timings: body.timings_ms };
    },
    heapBytes: async () =>
      ((await (await worker.fetch('/_debug/inference')).json()) as { wasm_heap_bytes: number })
        .wasm_heap_bytes,
    loadTimings: async (model) =>
      (
        (await (await worker.fetch('/_debug/inference')).json()) as {
          load_ms?: Record<string, LoadTimings>;
        }
      ).load_ms?.[model],
    dispose: () => worker.dispose(),
  };
}

export interface NativeSession {
  /** One session.run; returns milliseconds. */
  run(): Promise<number>;
  release(): Promise<void>;
}

/** onnxruntime-node, one intra-op thread, the same graph file the Worker serves. */
export async function nativeSession(
  files: ModelFiles,
  input: ortNode.Tensor,
  optimizedOut?: string,
): Promise<NativeSession> {
  const session = await ortNode.InferenceSession.create(path.join(files.dir, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Saving an optimised graph: 'extended' keeps it portable (no x86 NCHWc layout kernels).
    graphOptimizationLevel: optimizedOut ? 'extended' : 'all',
    ...(optimizedOut ? { optimizedModelFilePath: optimizedOut } : {}),
  });
  const feeds = { [session.inputNames[0] ?? 'input']: input };
  return {
    run: async () => {
      const started = performance.now();
      await session.run(feeds);
      return performance.now() - started;
    },
    release: () => session.release(),
  };
}

/** The JPEG decoded by sharp and preprocessed as the Worker would, as an ORT-node tensor. */
export async function inputTensor(
  jpeg: Uint8Array,
  model: ModelId,
  resolution: number,
): Promise<ortNode.Tensor> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const variant = model.replace('efficientnet-', '') as Parameters<typeof preprocessFor>[0];
  const rgb = { width: info.width, height: info.height, channels: 3 as const, data: new Uint8Array(data) };
  return new ortNode.Tensor('float32', preprocess(rgb, preprocessFor(variant, 'random')), [
    1,
    3,
    resolution,
    resolution,
  ]);
}

/**
 * The first request's parts: the Worker's load timings, the first run and decode from the response's
 * timings_ms, and what is left, split where it happens: handler_other_ms inside the Worker's own
 * timings_ms.total (body read and validation, result-cache lookup, top-k, building the answer) and
 * outside_handler_ms between the client and the handler (HTTP through wrangler's dev proxy and
 * Miniflare's entry worker, routing and middleware, serialising the JSON). Sum = cold_ms. The Worker
 * has started before the request is sent (bootWorker waits for its runtime); what starting it costs is
 * measured apart (edge-startup.ts). workerd's clocks do advance while JavaScript runs locally (a busy
 * loop of ~0.4-0.75 s read the same inside the Worker and at the client), so these parts are durations.
 */
export function coldParts(cold: Sample, load: LoadTimings | undefined): Record<string, number> {
  const parts = {
    wasm_instantiate_ms: load?.wasm_instantiate_ms ?? Number.NaN,
    r2_read_ms: (load?.r2_read_ms ?? Number.NaN) + (load?.manifest_ms ?? 0),
    session_create_ms: load?.session_create_ms ?? Number.NaN,
    first_run_ms: cold.timings.inference,
    decode_ms: cold.timings.decode,
    preprocess_ms: cold.timings.preprocess,
  };
  const known = Object.values(parts).reduce((a, b) => a + b, 0);
  const rest = {
    handler_other_ms: cold.timings.total - known,
    outside_handler_ms: cold.elapsed - cold.timings.total,
  };
  return Object.fromEntries(Object.entries({ ...parts, ...rest }).map(([k, v]) => [k, round(v)]));
}
