// Edge benchmark: POST /v1/classify with a ~1-megapixel JPEG in real workerd (onnxruntime-web WASM)
// against the same graph on onnxruntime-node with one thread, in the same run. Prints JSON.
//
//   npm run bench:edge -- --json [--runs 10] [--experiments]
//
// Per model: workerd_ms (median request latency, measured by the client), native_1t_ms (median
// session.run on onnxruntime-node, 1 thread), ratio, preprocess_share ((decode+preprocess)/total from
// the response's timings_ms), cold_ms (first request on a fresh isolate: ORT start + model load from R2
// + the request), wasm_heap_mib (ORT's WASM memory after that model loaded, from /_debug/inference).
// Each configuration boots its own Worker, so every cold start and heap figure is a fresh isolate's.
// --experiments adds B0 variants: split weights, graph optimisation levels, a graph pre-optimised by
// onnxruntime-node, and fp16 weights.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import sharp from 'sharp';
import { type ModelId, preprocessFor } from '../../shared/catalog/models.ts';
import { preprocess } from '../../shared/preprocess/index.ts';
import { bootWorker, type ModelFiles } from '../../test/workerd/harness.ts';
import { testPhoto } from '../../test/workerd/images.ts';
import { testModels } from '../../test/workerd/test-models.ts';
import { buildModelFiles } from '../models/build.ts';

const args = process.argv.slice(2);
const JSON_ONLY = args.includes('--json');
const EXPERIMENTS = args.includes('--experiments');
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 10;
const WARMUP = 2;
const MIB = 2 ** 20;

const log = (message: string) => {
  if (!JSON_ONLY) console.error(message);
};
const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Scenario {
  model: ModelId;
  files: ModelFiles;
  vars?: Record<string, string>;
}

interface WorkerdResult {
  workerd_ms: number;
  workerd_inference_ms: number;
  preprocess_share: number;
  cold_ms: number;
  wasm_heap_mib: number;
}

async function measureWorkerd(scenario: Scenario, jpeg: Uint8Array<ArrayBuffer>): Promise<WorkerdResult> {
  const worker = await bootWorker({
    models: [scenario.files],
    vars: { DEBUG_ROUTES: '1', ...scenario.vars },
  });
  try {
    const request = async () => {
      const started = performance.now();
      const response = await worker.fetch(`/v1/classify?model=${scenario.model}`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: jpeg,
      });
      const body = (await response.json()) as {
        timings_ms?: Record<'decode' | 'preprocess' | 'inference' | 'total', number>;
      };
      const elapsed = performance.now() - started;
      if (response.status !== 200 || !body.timings_ms)
        throw new Error(`classify answered ${response.status}: ${JSON.stringify(body)}`);
      return { elapsed, timings: body.timings_ms };
    };
    const cold = await request();
    const debug = (await (await worker.fetch('/_debug/inference')).json()) as { wasm_heap_bytes: number };
    for (let i = 0; i < WARMUP; i++) await request();
    const warm = [];
    for (let i = 0; i < RUNS; i++) warm.push(await request());
    return {
      workerd_ms: round(median(warm.map((r) => r.elapsed))),
      workerd_inference_ms: round(median(warm.map((r) => r.timings.inference))),
      preprocess_share: round(
        median(warm.map((r) => (r.timings.decode + r.timings.preprocess) / r.timings.total)),
        3,
      ),
      cold_ms: round(cold.elapsed),
      wasm_heap_mib: round(debug.wasm_heap_bytes / MIB),
    };
  } finally {
    await worker.dispose();
  }
}

async function inputTensor(jpeg: Uint8Array, model: ModelId, resolution: number): Promise<ortNode.Tensor> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const variant = model.replace('efficientnet-', '') as Parameters<typeof preprocessFor>[0];
  const spec = preprocessFor(variant, 'random');
  const tensor = preprocess(
    { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) },
    spec,
  );
  return new ortNode.Tensor('float32', tensor, [1, 3, resolution, resolution]);
}

/** Median session.run on onnxruntime-node with one intra-op thread (same graph file as served). */
async function measureNative(
  files: ModelFiles,
  input: ortNode.Tensor,
  optimizedOut?: string,
): Promise<number> {
  const session = await ortNode.InferenceSession.create(path.join(files.dir, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: optimizedOut ? 'extended' : 'all',
    ...(optimizedOut ? { optimizedModelFilePath: optimizedOut } : {}),
  });
  try {
    const feeds = { [session.inputNames[0] ?? 'input']: input };
    for (let i = 0; i < WARMUP; i++) await session.run(feeds);
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await session.run(feeds);
      times.push(performance.now() - started);
    }
    return round(median(times));
  } finally {
    await session.release();
  }
}

async function compare(scenario: Scenario, jpeg: Uint8Array<ArrayBuffer>, resolution: number) {
  log(`measuring ${scenario.model} ${JSON.stringify(scenario.vars ?? {})} (${scenario.files.dir})`);
  const workerd = await measureWorkerd(scenario, jpeg);
  const native = await measureNative(scenario.files, await inputTensor(jpeg, scenario.model, resolution));
  return {
    ...workerd,
    native_1t_ms: native,
    ratio: round(workerd.workerd_ms / native, 2),
    inference_ratio: round(workerd.workerd_inference_ms / native, 2),
  };
}

/** ~1 MP JPEG: the test photo (or a generated one) resized to 1155x866. */
async function megapixelJpeg(): Promise<{ bytes: Uint8Array<ArrayBuffer>; source: string }> {
  const photo = await testPhoto();
  const bytes = await sharp(photo.bytes).resize(1155, 866, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  return { bytes: new Uint8Array(bytes), source: `${photo.source} resized to 1155x866` };
}

async function experiments(base: ModelFiles, jpeg: Uint8Array<ArrayBuffer>, scratch: string) {
  const model: ModelId = 'efficientnet-b0';
  const out: Record<string, unknown> = {};
  const variant = async (name: string, options: { split?: boolean; fp16?: boolean }) => {
    const { dir } = await buildModelFiles({
      variant: 'b0',
      weights: 'random',
      seed: 0,
      ...options,
      outDir: path.join(scratch, name),
    });
    return { id: model, dir };
  };
  out.b0_split = await compare({ model, files: await variant('split', { split: true }) }, jpeg, 224);
  for (const level of ['disabled', 'basic', 'extended']) {
    out[`b0_opt_${level}`] = await compare({ model, files: base, vars: { ORT_GRAPH_OPT: level } }, jpeg, 224);
  }
  // onnxruntime-node saves its 'extended' optimisation of the graph; workerd then skips that work.
  const preDir = path.join(scratch, 'preoptimized', model);
  await mkdir(preDir, { recursive: true });
  await measureNative(base, await inputTensor(jpeg, model, 224), path.join(preDir, 'model.onnx'));
  const manifest = JSON.parse(await readFile(path.join(base.dir, 'model.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await writeFile(
    path.join(preDir, 'model.json'),
    JSON.stringify({ ...manifest, files: [{ name: 'model.onnx' }] }),
  );
  out.b0_preoptimized_served_basic = await compare(
    { model, files: { id: model, dir: preDir }, vars: { ORT_GRAPH_OPT: 'basic' } },
    jpeg,
    224,
  );
  out.b0_fp16 = await compare({ model, files: await variant('fp16', { fp16: true }) }, jpeg, 224);
  return out;
}

async function main(): Promise<void> {
  const models = await testModels();
  const jpeg = await megapixelJpeg();
  const scratch = await mkdtemp(path.join(tmpdir(), 'bench-edge-'));
  try {
    const result: Record<string, unknown> = {
      b0: await compare({ model: 'efficientnet-b0', files: models.b0 }, jpeg.bytes, 224),
      b1: await compare({ model: 'efficientnet-b1', files: models.b1Split }, jpeg.bytes, 240),
    };
    if (EXPERIMENTS) result.experiments = await experiments(models.b0, jpeg.bytes, scratch);
    result.meta = {
      image: jpeg.source,
      image_bytes: jpeg.bytes.length,
      runs: RUNS,
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      load_avg_1m: round(os.loadavg()[0] ?? 0, 2),
      date: new Date().toISOString(),
      note: 'b1 is served split (graph + external data); workerd_ms includes HTTP, decode and preprocess, native_1t_ms is session.run only',
    };
    console.log(JSON.stringify(result, null, JSON_ONLY ? 0 : 2));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
