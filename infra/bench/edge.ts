// Edge benchmark: POST /v1/classify with a ~1-megapixel JPEG in real workerd (onnxruntime-web WASM)
// against the same graph on onnxruntime-node with one thread, in the same run. Prints JSON.
//
//   npm run -s bench:edge -- --json [--runs 10] [--experiments] [--cold] [--cold-only] [--cache-only]
//
// Per model: workerd_ms (median request latency seen by the client), native_1t_ms (median session.run
// on onnxruntime-node, 1 thread), ratio, preprocess_share ((decode + preprocess) / total from the
// response's timings_ms; warm_decode_ms and warm_preprocess_ms are its parts), cold_ms (first request on a fresh isolate, sent once
// the Worker has started: ORT start, model load from R2 and the request) and cold_parts (its parts, see coldParts in
// edge-measure.ts), wasm_heap_mib (ORT's WASM memory after that model loaded, from /_debug/inference).
// Workerd requests and native runs alternate so that both see the same background load.
// The Worker runs from a `wrangler deploy --dry-run` bundle, so source edits cannot restart it mid-run.
// --experiments adds B0 variants, each against the default B0 (edge-experiments.ts); --cold adds B0 and
// B1 first-request candidates (plain, ORT format, pre-optimised split as deployed), interleaved over
// fresh Workers, with the WASM heap after each (edge-cold.ts), then `startup`: what starting the bundle
// costs before any request (WASM compile, script; edge-startup.ts) and cold_plus_bundle_start_ms, the
// first request of an isolate that the request itself started; --cold-only skips the rest.
// `cache`: B0 through the result cache as a miss, a hit and a bypass (edge-cache.ts); the rows above run
// with the cache off. --cache-only measures just that.
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { ModelId } from '../../shared/catalog/models.ts';
import { bundleWorker, type ModelFiles } from '../dev/workerd.ts';
import { preoptimizedTestModels, testModels } from '../models/cache.ts';
import { measureCache } from './edge-cache.ts';
import { runColdExperiments } from './edge-cold.ts';
import { runExperiments } from './edge-experiments.ts';
import {
  coldParts,
  inputTensor,
  MIB,
  median,
  nativeSession,
  round,
  type Sample,
  spread,
  startEdge,
} from './edge-measure.ts';
import { measureStartup } from './edge-startup.ts';
import { testPhoto } from './images.ts';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '10' },
    experiments: { type: 'boolean', default: false },
    cold: { type: 'boolean', default: false },
    'cold-only': { type: 'boolean', default: false },
    'cache-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const JSON_ONLY = flags.json;
const RUNS = Number(flags.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs must be a positive whole number');
const WARMUP = 2;

const log = (message: string) => {
  if (!JSON_ONLY) console.error(message);
};

async function measureModel(
  model: ModelId,
  files: ModelFiles,
  resolution: number,
  jpeg: Uint8Array<ArrayBuffer>,
  prebuilt: string,
) {
  log(`measuring ${model}`);
  const native = await nativeSession(files, await inputTensor(jpeg, model, resolution));
  const edge = await startEdge({ model, files: [files] }, jpeg, prebuilt);
  try {
    const cold = await edge.classify(model);
    const load = await edge.loadTimings(model);
    const heap = await edge.heapBytes();
    const warm: Sample[] = [];
    const nativeMs: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const sample = await edge.classify(model);
      const ms = await native.run();
      if (i < WARMUP) continue;
      warm.push(sample);
      nativeMs.push(ms);
    }
    const workerdMs = median(warm.map((s) => s.elapsed));
    const inferenceMs = median(warm.map((s) => s.timings.inference));
    const nativeMedian = median(nativeMs);
    return {
      workerd_ms: round(workerdMs),
      native_1t_ms: round(nativeMedian),
      ratio: round(workerdMs / nativeMedian, 2),
      preprocess_share: round(
        median(warm.map((s) => (s.timings.decode + s.timings.preprocess) / s.timings.total)),
        3,
      ),
      warm_decode_ms: round(median(warm.map((s) => s.timings.decode))),
      warm_preprocess_ms: round(median(warm.map((s) => s.timings.preprocess))),
      cold_ms: round(cold.elapsed),
      cold_parts: coldParts(cold, load),
      wasm_heap_mib: round(heap / MIB),
      workerd_inference_ms: round(inferenceMs),
      inference_ratio: round(inferenceMs / nativeMedian, 2),
      native_spread: round(spread(nativeMs), 2),
      workerd_spread: round(spread(warm.map((s) => s.elapsed)), 2),
    };
  } finally {
    await edge.dispose();
    await native.release();
  }
}

/** ~1 MP JPEG: the test photo (or a generated one) resized to 1155x866. */
async function megapixelJpeg(): Promise<{ bytes: Uint8Array<ArrayBuffer>; source: string }> {
  const photo = await testPhoto();
  const bytes = await sharp(photo.bytes).resize(1155, 866, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  return { bytes: new Uint8Array(bytes), source: `${photo.source} resized to 1155x866` };
}

async function main(): Promise<void> {
  const models = await testModels();
  const jpeg = await megapixelJpeg();
  const scratch = await mkdtemp(path.join(tmpdir(), 'bench-edge-'));
  try {
    const prebuilt = await bundleWorker(path.join(scratch, 'bundle'));
    const loadBefore = os.loadavg()[0] ?? 0;
    const result: Record<string, unknown> = {};
    if (!flags['cold-only'] && !flags['cache-only']) {
      result.b0 = await measureModel('efficientnet-b0', models.b0, 224, jpeg.bytes, prebuilt);
      result.b1 = await measureModel('efficientnet-b1', models.b1Split, 240, jpeg.bytes, prebuilt);
    }
    if (!flags['cold-only']) {
      result.cache = await measureCache({
        model: 'efficientnet-b0',
        files: models.b0,
        jpeg: jpeg.bytes,
        prebuilt,
        runs: RUNS,
        warmup: WARMUP,
        log,
      });
    }
    if (flags.cold || flags['cold-only']) {
      const deployed = await preoptimizedTestModels();
      const cold = { jpeg: jpeg.bytes, scratch, prebuilt, rounds: Math.min(RUNS, 3), log };
      const b0 = await runColdExperiments({
        ...cold,
        base: models.b0,
        deployed: deployed.b0,
        model: 'efficientnet-b0',
        resolution: 224,
      });
      const b1 = await runColdExperiments({
        ...cold,
        base: models.b1Split,
        deployed: deployed.b1Split,
        model: 'efficientnet-b1',
        resolution: 240,
      });
      // Boots without a request are cheap, and one start swings by 2-3x on this machine: more rounds.
      const startup = await measureStartup(prebuilt, scratch, [deployed.b0], Math.max(5, cold.rounds), log);
      // What a deployed Worker's first request waits for on a new isolate: the bundle's start, then cold_ms.
      const withStart = (rows: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(rows)
            .filter(([, row]) => typeof (row as { cold_ms?: unknown })?.cold_ms === 'number')
            .map(([name, row]) => [
              name,
              round((row as { cold_ms: number }).cold_ms + startup.bundle_start_ms),
            ]),
        );
      result.cold = {
        b0,
        b1,
        startup,
        cold_plus_bundle_start_ms: { b0: withStart(b0), b1: withStart(b1) },
      };
    }
    if (flags.experiments) {
      result.experiments = await runExperiments({
        base: models.b0,
        b1Split: models.b1Split,
        jpeg: jpeg.bytes,
        scratch,
        prebuilt,
        runs: RUNS,
        log,
      });
    }
    result.meta = {
      image: jpeg.source,
      image_bytes: jpeg.bytes.length,
      runs: RUNS,
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      load_avg_1m: [round(loadBefore, 2), round(os.loadavg()[0] ?? 0, 2)],
      date: new Date().toISOString(),
      note: 'b0 served as one file, b1 split; workerd_ms is the whole request (HTTP, decode, preprocess, inference), native_1t_ms is session.run only',
    };
    console.log(JSON.stringify(result, null, JSON_ONLY ? 0 : 2));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
