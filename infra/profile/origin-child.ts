// One variant on onnxruntime-node in its own process, so that its peak RSS is its own. Prints one JSON
// line. Usage: origin-child.ts <model.onnx> <resolution> <cpu|cuda> <runs> <budget seconds>
import * as ort from 'onnxruntime-node';
import { percentile, round, timeRuns } from './stats.ts';

export interface OriginChildResult {
  cold_ms: number;
  session_create_ms: number;
  first_run_ms: number;
  p50_ms: number;
  p95_ms: number;
  warm_runs: number;
  /** img/s per batch size tried. */
  batches: Record<string, number>;
  best_batch: number;
  img_s: number;
  peak_mib: number;
}

const BATCHES = [1, 2, 4, 8];

async function main(): Promise<void> {
  const [file = '', resText = '', provider = 'cpu', runsText = '10', budgetText = '20'] =
    process.argv.slice(2);
  const resolution = Number(resText);
  const runs = Number(runsText);
  const budgetMs = Number(budgetText) * 1000;
  const input = (batch: number) => {
    const data = new Float32Array(batch * 3 * resolution * resolution);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 2;
    return new ort.Tensor('float32', data, [batch, 3, resolution, resolution]);
  };
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(file, { executionProviders: [provider] });
  const t1 = performance.now();
  const name = session.inputNames[0] ?? 'input';
  const one = { [name]: input(1) };
  await session.run(one);
  const t2 = performance.now();
  const runOnce = (feeds: Record<string, ort.Tensor>) => async () => {
    const started = performance.now();
    await session.run(feeds);
    return performance.now() - started;
  };
  const warm = await timeRuns(runOnce(one), runs, budgetMs);
  const batches: Record<string, number> = { 1: round(1000 / percentile(warm, 0.5), 2) };
  for (const batch of BATCHES.slice(1)) {
    const feeds = { [name]: input(batch) };
    await session.run(feeds);
    const times = await timeRuns(runOnce(feeds), Math.max(2, Math.ceil(runs / batch)), budgetMs / 2, 2);
    batches[batch] = round((batch * 1000) / percentile(times, 0.5), 2);
  }
  const [bestBatch, bestImgS] = Object.entries(batches).reduce((a, b) => (b[1] > a[1] ? b : a));
  await session.release();
  const result: OriginChildResult = {
    cold_ms: round(t2 - t0),
    session_create_ms: round(t1 - t0),
    first_run_ms: round(t2 - t1),
    p50_ms: round(percentile(warm, 0.5)),
    p95_ms: round(percentile(warm, 0.95)),
    warm_runs: warm.length,
    batches,
    best_batch: Number(bestBatch),
    img_s: bestImgS,
    peak_mib: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
