// What narrows the workerd-vs-native gap for B0, each variant measured against the default B0 in the
// same run: both Workers are up at once and requests alternate between them, so background load on the
// shared machine hits both alike. Reported: inference and request medians, cold start, WASM heap.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelId } from '../../shared/catalog/models.ts';
import type { ModelFiles } from '../dev/workerd.ts';
import { buildModelFiles } from '../models/build.ts';
import {
  inputTensor,
  MIB,
  median,
  nativeSession,
  round,
  type Sample,
  type Scenario,
  startEdge,
} from './edge-measure.ts';

const MODEL: ModelId = 'efficientnet-b0';

interface Context {
  base: ModelFiles;
  b1Split: ModelFiles;
  jpeg: Uint8Array<ArrayBuffer>;
  scratch: string;
  prebuilt: string;
  runs: number;
  log: (message: string) => void;
}

async function versusBaseline(ctx: Context, variant: Scenario) {
  ctx.log(`experiment ${JSON.stringify(variant.vars ?? {})} ${variant.files.map((f) => f.dir).join(', ')}`);
  const baseline = await startEdge({ model: MODEL, files: [ctx.base] }, ctx.jpeg, ctx.prebuilt);
  const candidate = await startEdge(variant, ctx.jpeg, ctx.prebuilt);
  try {
    const baseCold = await baseline.classify(MODEL);
    const candCold = await candidate.classify(MODEL);
    const heaps = [await baseline.heapBytes(), await candidate.heapBytes()];
    const base: Sample[] = [];
    const cand: Sample[] = [];
    for (let i = 0; i < ctx.runs + 2; i++) {
      const b = await baseline.classify(MODEL);
      const c = await candidate.classify(MODEL);
      if (i < 2) continue; // warm-up
      base.push(b);
      cand.push(c);
    }
    const inference = (xs: Sample[]) => median(xs.map((s) => s.timings.inference));
    const request = (xs: Sample[]) => median(xs.map((s) => s.elapsed));
    return {
      inference_ms: round(inference(cand)),
      baseline_inference_ms: round(inference(base)),
      inference_speedup: round(inference(base) / inference(cand), 2),
      workerd_ms: round(request(cand)),
      baseline_workerd_ms: round(request(base)),
      cold_ms: round(candCold.elapsed),
      baseline_cold_ms: round(baseCold.elapsed),
      wasm_heap_mib: round((heaps[1] ?? 0) / MIB),
      baseline_wasm_heap_mib: round((heaps[0] ?? 0) / MIB),
    };
  } finally {
    await candidate.dispose();
    await baseline.dispose();
  }
}

async function buildB0(
  ctx: Context,
  name: string,
  options: { split?: boolean; fp16?: boolean },
): Promise<ModelFiles> {
  const outDir = path.join(ctx.scratch, name);
  const { dir } = await buildModelFiles({ variant: 'b0', weights: 'random', seed: 0, ...options, outDir });
  return { id: MODEL, dir };
}

/** onnxruntime-node writes its 'extended' optimisation of the graph; the Worker serves that file. */
async function preoptimizedB0(ctx: Context): Promise<ModelFiles> {
  const dir = path.join(ctx.scratch, 'preoptimized', MODEL);
  await mkdir(dir, { recursive: true });
  const session = await nativeSession(
    ctx.base,
    await inputTensor(ctx.jpeg, MODEL, 224),
    path.join(dir, 'model.onnx'),
  );
  await session.release();
  const manifest = JSON.parse(await readFile(path.join(ctx.base.dir, 'model.json'), 'utf8')) as object;
  await writeFile(
    path.join(dir, 'model.json'),
    JSON.stringify({ ...manifest, files: [{ name: 'model.onnx' }] }),
  );
  return { id: MODEL, dir };
}

/** Heap with B0 and B1 (both split) loaded in one isolate, as a Worker serving both tiers ends up. */
async function bothModelsHeap(ctx: Context, b0Split: ModelFiles): Promise<number> {
  const edge = await startEdge({ model: MODEL, files: [b0Split, ctx.b1Split] }, ctx.jpeg, ctx.prebuilt);
  try {
    await edge.classify('efficientnet-b0');
    await edge.classify('efficientnet-b1');
    return round((await edge.heapBytes()) / MIB);
  } finally {
    await edge.dispose();
  }
}

export async function runExperiments(ctx: Context): Promise<Record<string, unknown>> {
  const b0Split = await buildB0(ctx, 'split', { split: true });
  const out: Record<string, unknown> = {};
  out.b0_split = await versusBaseline(ctx, { model: MODEL, files: [b0Split] });
  for (const level of ['disabled', 'basic', 'extended']) {
    out[`graph_opt_${level}`] = await versusBaseline(ctx, {
      model: MODEL,
      files: [ctx.base],
      vars: { ORT_GRAPH_OPT: level },
    });
  }
  const pre = await preoptimizedB0(ctx);
  out.preoptimized_by_ort_node_served_basic = await versusBaseline(ctx, {
    model: MODEL,
    files: [pre],
    vars: { ORT_GRAPH_OPT: 'basic' },
  });
  out.fp16_weights = await versusBaseline(ctx, {
    model: MODEL,
    files: [await buildB0(ctx, 'fp16', { fp16: true })],
  });
  out.b0_and_b1_split_in_one_isolate_heap_mib = await bothModelsHeap(ctx, b0Split);
  return out;
}
