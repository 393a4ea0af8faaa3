// Where warm inference time goes, stage by stage: B0/B1 from the factory, cut at block boundaries
// (stem, each MBConv stage, head), every prefix loaded as its own model in real workerd (ORT-web WASM, one
// thread, the deploy bundle) and in onnxruntime-node (1 thread and default threads). Prints JSON.
//
//   npm run -s bench:layers -- --json [--variants b0,b1] [--runs 10]
//
// Each round runs every prefix once on each runtime, interleaved. A stage's time is the trimmed mean
// over rounds of (prefix i - prefix i-1); an Identity graph on the same input gives the fixed cost
// (request, input/output copies) that the stem starts from. workerd is timed by its CPU time (its
// threads' on-CPU time from /proc, see layers-cpu.ts): on the shared machine wall time mostly measures
// waiting for a core, and /proc counts CPU time in scheduler ticks, hence many rounds. onnxruntime-node
// is cheap enough to time by wall clock, the least of three runs per prefix and round (1 thread and
// default threads). workerd's wall times are reported too.
// Sanity: each prefix's output equals the full graph's intermediate tensor on onnxruntime-node, and
// workerd's first output element matches native's.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { ModelManifestSchema } from '../../shared/catalog/manifest.ts';
import { BATCH_DIM, INPUT_NAME } from '../../shared/efficientnet/graph.ts';
import { isVariant, type Variant } from '../../shared/efficientnet/variants.ts';
import { withExtraOutputs } from '../../shared/onnx/cut.ts';
import { DataType, encodeModel } from '../../shared/onnx/model.ts';
import { concatChunks } from '../../shared/onnx/protobuf.ts';
import { bootWorker, bundleWorker } from '../dev/workerd.ts';
import { median, round } from './edge-measure.ts';
import { childWorkerdPids, processesCpuMs } from './layers-cpu.ts';
import { type CutModel, cutModel, prefixId, writePrefixes } from './layers-graph.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    variants: { type: 'string', default: 'b0,b1' },
    runs: { type: 'string', default: '10' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
  console.error('--runs must be an integer from 1 to 1000');
  process.exit(2);
}
const variants = (values.variants ?? '').split(',').map((v) => v.trim());
for (const v of variants) {
  if (!isVariant(v)) {
    console.error(`unknown variant ${JSON.stringify(v)}; expected b0..b7`);
    process.exit(2);
  }
}
const NATIVE_REPS = 3;

/** Mean of the middle 60% (20% dropped at each end). */
function trimmedMean(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length * 0.2);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.reduce((a, b) => a + b, 0) / Math.max(1, kept.length);
}
const log = (m: string) => process.stderr.write(`[layers] ${m}\n`);

/** The input syntheticRun feeds in the Worker (edge/inference/synthetic-run.ts), reproduced natively. */
function syntheticInput(side: number): Float32Array {
  const input = new Float32Array(3 * side * side);
  for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 2;
  return input;
}

/** Input → Identity → output: the fixed cost of one run without any layer. */
async function writeOverhead(model: CutModel, outDir: string): Promise<{ id: string; dir: string }> {
  const id = prefixId(model.variant, 'input');
  const dir = path.join(outDir, id);
  await mkdir(dir, { recursive: true });
  const r = model.resolution;
  const shape = [BATCH_DIM, 3, r, r];
  const bytes = concatChunks(
    encodeModel({
      graph: {
        name: 'identity',
        nodes: [{ opType: 'Identity', name: 'identity', inputs: [INPUT_NAME], outputs: ['copy'] }],
        initializers: [],
        inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, shape }],
        outputs: [{ name: 'copy', elemType: DataType.FLOAT, shape }],
      },
      opset: 17,
      irVersion: 8,
      producerName: 'layers-bench',
      producerVersion: '0',
      metadata: {},
    }).graphChunks,
  );
  await writeFile(path.join(dir, 'model.onnx'), bytes);
  const manifest = ModelManifestSchema.parse({
    id,
    resolution: r,
    weights: 'untrained',
    input: { name: INPUT_NAME, shape },
    output: { name: 'copy', classes: 3 * r * r },
    files: [{ name: 'model.onnx', bytes: bytes.byteLength }],
  });
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest));
  return { id, dir };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

async function measureVariant(variant: Variant, scratch: string, prebuilt: string) {
  log(`${variant}: building and cutting`);
  const model = cutModel(variant, true);
  const dirs = [await writeOverhead(model, scratch), ...(await writePrefixes(model, scratch))];
  const r = model.resolution;
  const input = new ort.Tensor('float32', syntheticInput(r), [1, 3, r, r]);
  const feeds = { [INPUT_NAME]: input };

  // Sanity on onnxruntime-node: every prefix against the full graph with all boundaries as outputs.
  const fullPath = path.join(scratch, `${variant}-all-outputs.onnx`);
  const all = withExtraOutputs(
    model.graph,
    model.stages.slice(0, -1).map((s) => s.tensor),
  );
  await writeFile(
    fullPath,
    concatChunks(
      encodeModel({
        graph: all,
        opset: 17,
        irVersion: 8,
        producerName: 'layers-bench',
        producerVersion: '0',
        metadata: {},
      }).graphChunks,
    ),
  );
  const full = await ort.InferenceSession.create(fullPath, { intraOpNumThreads: 1 });
  const reference = await full.run(feeds);
  await full.release();

  const one = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' as const };
  const native1: ort.InferenceSession[] = [];
  const nativeN: ort.InferenceSession[] = [];
  const sanity: Record<string, { max_abs_diff: number; native_first: number }> = {};
  for (const [i, d] of dirs.entries()) {
    const file = path.join(d.dir, 'model.onnx');
    native1.push(await ort.InferenceSession.create(file, one));
    nativeN.push(await ort.InferenceSession.create(file));
    if (i === 0) continue;
    const stage = model.stages[i - 1];
    if (!stage) throw new Error('stage list out of step');
    const out = await (native1[i] as ort.InferenceSession).run(feeds);
    const got = out[stage.tensor]?.data as Float32Array;
    const want = reference[stage.tensor]?.data as Float32Array;
    sanity[stage.name] = { max_abs_diff: maxAbsDiff(got, want), native_first: got[0] ?? Number.NaN };
  }

  log(`${variant}: booting workerd with ${dirs.length} prefix models`);
  const worker = await bootWorker({
    models: dirs,
    vars: { DEBUG_ROUTES: '1', ALLOW_OPEN_API: '1' },
    prebuilt,
    logLevel: 'none',
  });
  try {
    const edgeRun = async (id: string) => {
      // Re-listed every time: wrangler starts the Worker's own workerd only after its first request.
      const pids = childWorkerdPids();
      const cpu = processesCpuMs(pids);
      const started = performance.now();
      const response = await worker.fetch(`/_debug/run?model=${id}`, { method: 'POST' });
      const body = (await response.json()) as { first?: number };
      const wall = performance.now() - started;
      if (response.status !== 200)
        throw new Error(`/_debug/run?model=${id} answered ${response.status}: ${JSON.stringify(body)}`);
      return { wall, cpu: processesCpuMs(pids) - cpu, first: body.first ?? Number.NaN };
    };
    // Native runs are cheap: three per prefix and round, keeping the least (load only ever adds time).
    const nativeRun = async (session: ort.InferenceSession) => {
      let best = Number.POSITIVE_INFINITY;
      for (let rep = 0; rep < NATIVE_REPS; rep++) {
        const started = performance.now();
        await session.run(feeds);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const edgeFirst: number[] = [];
    for (const d of dirs) {
      edgeFirst.push((await edgeRun(d.id)).first); // load + first run
      await edgeRun(d.id);
    }
    const series = ['workerd_cpu', 'workerd_wall', 'native_1t_wall', 'native_mt_wall'] as const;
    const t = Object.fromEntries(series.map((k) => [k, dirs.map(() => [] as number[])])) as Record<
      (typeof series)[number],
      number[][]
    >;
    for (let round_ = 0; round_ < runs; round_++) {
      for (const [i, d] of dirs.entries()) {
        const e = await edgeRun(d.id);
        const n = await nativeRun(native1[i] as ort.InferenceSession);
        const m = await nativeRun(nativeN[i] as ort.InferenceSession);
        t.workerd_cpu[i]?.push(e.cpu);
        t.workerd_wall[i]?.push(e.wall);
        t.native_1t_wall[i]?.push(n);
        t.native_mt_wall[i]?.push(m);
      }
      log(`${variant}: round ${round_ + 1}/${runs}`);
    }
    // Paired within a round: prefix i minus prefix i-1 measured moments apart, then a trimmed mean
    // over rounds (a median would be biased: /proc's CPU times come in scheduler ticks).
    const pairedMean = (xs: number[][], i: number, j: number) =>
      trimmedMean((xs[i] ?? []).map((v, r_) => v - (xs[j]?.[r_] ?? 0)));
    const last = dirs.length - 1;
    const per = Object.fromEntries(
      series.map((k) => [k, model.stages.map((_, s) => pairedMean(t[k], s + 1, s))]),
    ) as Record<(typeof series)[number], number[]>;
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    const totalMacs = model.stages.reduce((a, s) => a + s.macs, 0);
    const stages = model.stages.map((s, k) => {
      const i = k + 1;
      const at = (key: (typeof series)[number]) => per[key][k] ?? 0;
      const kinds = Object.entries(s.macsByKind).sort((a, b) => b[1] - a[1]);
      const ck = sanity[s.name];
      const edge = edgeFirst[i] ?? Number.NaN;
      const native = ck?.native_first ?? Number.NaN;
      return {
        stage: s.name,
        output_shape: s.outputShape,
        macs_m: round(s.macs / 1e6, 1),
        macs_share: round(s.macs / totalMacs, 3),
        macs_m_by_kind: Object.fromEntries(kinds.map(([k2, v]) => [k2, round(v / 1e6, 2)])),
        dominant_macs_kind: kinds[0]?.[0] ?? null,
        ops: s.ops,
        workerd_ms: round(at('workerd_cpu'), 2),
        workerd_share: round(at('workerd_cpu') / sum(per.workerd_cpu), 3),
        native_1t_ms: round(at('native_1t_wall'), 2),
        native_1t_share: round(at('native_1t_wall') / sum(per.native_1t_wall), 3),
        native_mt_ms: round(at('native_mt_wall'), 2),
        native_mt_share: round(at('native_mt_wall') / sum(per.native_mt_wall), 3),
        ratio_workerd_native_1t: round(at('workerd_cpu') / at('native_1t_wall'), 2),
        ratio_workerd_native_mt: round(at('workerd_cpu') / at('native_mt_wall'), 2),
        workerd_wall_ms: round(at('workerd_wall'), 2),
        sanity: {
          prefix_vs_full_max_abs_diff: ck?.max_abs_diff ?? null,
          workerd_vs_native_first_rel_diff: round(Math.abs(edge - native) / Math.max(1, Math.abs(native)), 7),
        },
      };
    });
    const totals = Object.fromEntries(series.map((k) => [k, round(pairedMean(t[k], last, 0), 1)]));
    return {
      resolution: r,
      macs_m: round(totalMacs / 1e6, 1),
      // Whole graph minus the Identity graph, paired per round (the stages' sum is close, not equal).
      total_ms: totals,
      sum_of_stages_ms: Object.fromEntries(series.map((k) => [k, round(sum(per[k]), 1)])),
      fixed_cost_ms: Object.fromEntries(series.map((k) => [k, round(median(t[k][0] ?? []), 2)])),
      ratio_workerd_native_1t: round(
        pairedMean(t.workerd_cpu, last, 0) / pairedMean(t.native_1t_wall, last, 0),
        2,
      ),
      prefix_ids: dirs.map((d) => d.id),
      prefix_median_ms: Object.fromEntries(series.map((k) => [k, t[k].map((x) => round(median(x), 2))])),
      stages,
    };
  } finally {
    await worker.dispose();
    for (const s of [...native1, ...nativeN]) await s.release();
  }
}

const scratch = await mkdtemp(path.join(tmpdir(), 'bench-layers-'));
try {
  const loadBefore = os.loadavg()[0] ?? 0;
  log('bundling the Worker as deployed');
  const prebuilt = await bundleWorker(path.join(scratch, 'bundle'));
  const out: Record<string, unknown> = {};
  for (const v of variants) out[v] = await measureVariant(v as Variant, scratch, prebuilt);
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      native_default_threads: 'onnxruntime-node default',
    },
    load_avg_1m: [round(loadBefore, 2), round(os.loadavg()[0] ?? 0, 2)],
    runs,
    variants: out,
  };
  console.log(values.json ? JSON.stringify(report, null, 2) : report);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
