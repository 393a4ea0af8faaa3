// Cold-start experiments: fresh Workers booted one after another, configurations interleaved round by
// round, each answering one first request whose parts are read back from the Worker (coldParts).
//
// Candidates: the factory's plain graph (optimised by ORT-web at session creation, level `all`); the
// same graph pre-optimised by onnxruntime-node (`extended`, portable: no x86 NCHWc kernels) and saved in
// ORT format (weights inside the graph); and what `npm start` deploys, the graph saved as ONNX after the
// same optimisation with its weights split out (`models build --split --optimize`). The Worker loads
// both pre-optimised forms with optimisation off (edge/inference/classifier.ts). Each pre-optimised graph
// must give the plain graph's logits within 1e-4 (on onnxruntime-web).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web/wasm';
import type { ModelId } from '../../shared/catalog/models.ts';
import type { ModelFiles } from '../dev/workerd.ts';
import { coldParts, inputTensor, MIB, median, round, type Scenario, startEdge } from './edge-measure.ts';

interface ColdContext {
  base: ModelFiles;
  /** The same weights as `npm start` deploys them: ONNX saved after optimisation, weights split. */
  deployed: ModelFiles;
  model: ModelId;
  resolution: number;
  jpeg: Uint8Array<ArrayBuffer>;
  scratch: string;
  prebuilt: string;
  rounds: number;
  log: (message: string) => void;
}

/**
 * onnxruntime-node optimises `files` at level `extended` and writes the result in ORT format under the
 * graph's usual name (ORT-web tells the formats apart by their bytes). Weights end up inside the graph.
 */
export async function preoptimizedOrtFormat(files: ModelFiles, outDir: string): Promise<ModelFiles> {
  const dir = path.join(outDir, files.id);
  await mkdir(dir, { recursive: true });
  const ortFile = path.join(dir, 'model.ort');
  const session = await ortNode.InferenceSession.create(path.join(files.dir, 'model.onnx'), {
    graphOptimizationLevel: 'extended',
    optimizedModelFilePath: ortFile,
    intraOpNumThreads: 1,
  });
  await session.release();
  await writeFile(path.join(dir, 'model.onnx'), await readFile(ortFile));
  const manifest = JSON.parse(await readFile(path.join(files.dir, 'model.json'), 'utf8')) as object;
  await writeFile(
    path.join(dir, 'model.json'),
    JSON.stringify({ ...manifest, split: false, files: [{ name: 'model.onnx' }] }),
  );
  return { id: files.id, dir };
}

/**
 * Largest absolute logit difference between the graph as deployed (optimised at load, level `all`) and
 * the pre-optimised one loaded with optimisation off, both on onnxruntime-web (the WASM build the Worker
 * runs, here in Node), the bench photo preprocessed as the Worker does.
 */
export async function maxLogitDifference(
  original: string,
  preoptimized: string,
  input: Float32Array,
  resolution: number,
): Promise<{ max_abs_difference: number; max_abs_logit: number }> {
  ortWeb.env.wasm.numThreads = 1;
  const tensor = new ortWeb.Tensor('float32', input, [1, 3, resolution, resolution]);
  const logits: Float32Array[] = [];
  for (const [file, level] of [
    [original, 'all'],
    [preoptimized, 'disabled'],
  ] as const) {
    const data = `${file}.data`;
    const split = await readFile(data).catch(() => null);
    const session = await ortWeb.InferenceSession.create(new Uint8Array(await readFile(file)), {
      executionProviders: ['wasm'],
      graphOptimizationLevel: level,
      ...(split ? { externalData: [{ path: path.basename(data), data: new Uint8Array(split) }] } : {}),
    });
    const out = await session.run({ [session.inputNames[0] ?? 'input']: tensor });
    const result = out[session.outputNames[0] ?? 'logits'];
    if (!result) throw new Error(`${file} produced no output`);
    logits.push((result.data as Float32Array).slice());
    await session.release();
  }
  const [x, y] = logits as [Float32Array, Float32Array];
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs((x[i] ?? 0) - (y[i] ?? 0)));
    largest = Math.max(largest, Math.abs(x[i] ?? 0));
  }
  return { max_abs_difference: worst, max_abs_logit: largest };
}

/**
 * InferenceSession.create alone on onnxruntime-web in Node (the Worker's WASM build), each graph as the
 * Worker would load it, `rounds` rounds interleaved in one process after one untimed round (which pays
 * V8's first compilation): the load step the pre-optimised graphs target, without workerd's noise.
 */
export async function sessionCreateInNode(
  graphs: Record<string, { dir: string; level: 'all' | 'disabled' }>,
  rounds: number,
): Promise<Record<string, { median_ms: number; each_ms: number[] }>> {
  ortWeb.env.wasm.numThreads = 1;
  const inputs = await Promise.all(
    Object.entries(graphs).map(async ([name, g]) => {
      const graph = new Uint8Array(await readFile(path.join(g.dir, 'model.onnx')));
      const data = await readFile(path.join(g.dir, 'model.onnx.data')).catch(() => null);
      return { name, level: g.level, graph, data: data ? new Uint8Array(data) : null };
    }),
  );
  const times = new Map<string, number[]>();
  for (let r = 0; r <= rounds; r++) {
    for (const g of inputs) {
      const started = performance.now();
      const session = await ortWeb.InferenceSession.create(g.graph, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: g.level,
        ...(g.data ? { externalData: [{ path: 'model.onnx.data', data: g.data }] } : {}),
      });
      const ms = performance.now() - started;
      await session.release();
      if (r > 0) times.set(g.name, [...(times.get(g.name) ?? []), round(ms)]);
    }
  }
  return Object.fromEntries(
    [...times].map(([name, each]) => [name, { median_ms: round(median(each)), each_ms: each }]),
  );
}

interface Config {
  name: string;
  scenario: Scenario;
  idleMs: number;
}

export async function runColdExperiments(ctx: ColdContext): Promise<Record<string, unknown>> {
  const pre = await preoptimizedOrtFormat(ctx.base, path.join(ctx.scratch, 'ort-format'));
  const input = (await inputTensor(ctx.jpeg, ctx.model, ctx.resolution)).data as Float32Array;
  const plainGraph = path.join(ctx.base.dir, 'model.onnx');
  const parity = {
    ort_format: await maxLogitDifference(plainGraph, path.join(pre.dir, 'model.onnx'), input, ctx.resolution),
    preoptimized_onnx_split: await maxLogitDifference(
      plainGraph,
      path.join(ctx.deployed.dir, 'model.onnx'),
      input,
      ctx.resolution,
    ),
  };
  const sessionCreate = await sessionCreateInNode(
    {
      plain_optimised_at_load: { dir: ctx.base.dir, level: 'all' },
      ort_format_preoptimized: { dir: pre.dir, level: 'disabled' },
      preoptimized_onnx_split: { dir: ctx.deployed.dir, level: 'disabled' },
    },
    10,
  );
  const configs: Config[] = [
    { name: 'plain_optimised_at_load', scenario: { model: ctx.model, files: [ctx.base] }, idleMs: 0 },
    { name: 'ort_format_preoptimized', scenario: { model: ctx.model, files: [pre] }, idleMs: 0 },
    { name: 'preoptimized_onnx_split', scenario: { model: ctx.model, files: [ctx.deployed] }, idleMs: 0 },
  ];
  const samples = new Map<string, Record<string, number>[]>();
  for (let r = 0; r < ctx.rounds; r++) {
    for (const config of configs) {
      ctx.log(`cold ${config.name}, round ${r + 1}`);
      const edge = await startEdge(config.scenario, ctx.jpeg, ctx.prebuilt);
      try {
        if (config.idleMs) await new Promise((resolve) => setTimeout(resolve, config.idleMs));
        const cold = await edge.classify(ctx.model);
        const parts = coldParts(cold, await edge.loadTimings(ctx.model));
        const heap = round((await edge.heapBytes()) / MIB);
        const list = samples.get(config.name) ?? [];
        list.push({ cold_ms: round(cold.elapsed), ...parts, wasm_heap_mib: heap });
        samples.set(config.name, list);
      } finally {
        await edge.dispose();
      }
    }
  }
  const out: Record<string, unknown> = {
    model: ctx.model,
    rounds: ctx.rounds,
    logits_vs_plain_on_the_bench_photo: parity,
    session_create_ort_web_in_node: sessionCreate,
  };
  const baseline = median((samples.get('plain_optimised_at_load') ?? []).map((s) => s.cold_ms ?? Number.NaN));
  for (const [name, list] of samples) {
    const keys = Object.keys(list[0] ?? {});
    const medians = Object.fromEntries(
      keys.map((k) => [k, round(median(list.map((s) => s[k] ?? Number.NaN)))]),
    );
    out[name] = {
      ...medians,
      cold_vs_plain: round((medians.cold_ms ?? Number.NaN) / baseline, 2),
      cold_ms_each: list.map((s) => s.cold_ms),
    };
  }
  return out;
}
