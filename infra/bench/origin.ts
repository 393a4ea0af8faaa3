// GPU origin benchmark: images per second and latency through the real HTTP service under bounded
// concurrent load on loopback, with dynamic batching on and off, against bare ONNX Runtime at its best
// batch size, all in one run (compare ratios: the machine is shared and absolute numbers drift).
//
//   npm run bench:origin -- [--json] [--model efficientnet-b0] [--models-dir DIR] [--requests 64]
//                           [--concurrency 8] [--max-batch 8] [--window-ms 5] [--threads 0] [--providers cuda,cpu]
//                           [--rounds 3]
//
// Rounds interleave the three modes (batched HTTP, unbatched HTTP, bare ORT at its best batch size) and the
// median round of each is reported, so load from other processes hits all modes alike.
//
// The model comes from --models-dir (default <repo>/models); when it is missing there, it is built with
// random weights by the model factory into a temporary directory that is removed afterwards.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { parseConfig } from '../../gpu-origin/config/config.ts';
import { readManifest } from '../../gpu-origin/models/manifest.ts';
import { startOrigin } from '../../gpu-origin/server.ts';
import { isVariant } from '../../shared/efficientnet/variants.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PHOTOS = join(ROOT, '../shared/data/imagenet-val-100/images');

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'efficientnet-b0' },
    'models-dir': { type: 'string', default: join(ROOT, 'models') },
    requests: { type: 'string', default: '64' },
    concurrency: { type: 'string', default: '8' },
    'max-batch': { type: 'string', default: '8' },
    'window-ms': { type: 'string', default: '5' },
    threads: { type: 'string', default: '0' },
    providers: { type: 'string', default: 'cuda,cpu' },
    rounds: { type: 'string', default: '3' },
  },
  strict: true,
});
const positive = (name: keyof typeof flags) => {
  const value = Number(flags[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};

const opts = {
  json: flags.json,
  model: flags.model,
  modelsDir: flags['models-dir'],
  requests: positive('requests'),
  concurrency: positive('concurrency'),
  maxBatch: positive('max-batch'),
  windowMs: positive('window-ms'),
  threads: positive('threads'),
  providers: flags.providers,
  rounds: Math.max(1, positive('rounds')),
};
const log = (line: string) => {
  if (!opts.json) console.log(line);
  else console.error(line);
};

/** A real photo when ../shared has them, else a synthetic gradient; JPEG at 640 x 480 either way. */
async function requestImage(): Promise<{ bytes: Uint8Array<ArrayBuffer>; source: string }> {
  const photo = existsSync(PHOTOS) ? readdirSync(PHOTOS).find((f) => /\.jpe?g$/i.test(f)) : undefined;
  const input = photo
    ? sharp(readFileSync(join(PHOTOS, photo)))
    : sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 90, g: 140, b: 60 } } });
  const bytes = await input.resize(640, 480, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  return { bytes: new Uint8Array(bytes), source: photo ? `imagenet-val-100/${photo}` : 'synthetic' };
}

async function modelDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  if (existsSync(join(opts.modelsDir, opts.model, 'model.json'))) {
    return { dir: opts.modelsDir, cleanup: async () => {} };
  }
  const variant = opts.model.replace(/^efficientnet-/, '');
  if (!isVariant(variant))
    throw new Error(`${opts.model} is not in ${opts.modelsDir} and is not a buildable variant`);
  const dir = await mkdtemp(join(tmpdir(), 'bench-origin-'));
  // Interrupted runs must not leave a 100 MB model behind.
  const onSignal = () => {
    rmSync(dir, { recursive: true, force: true });
    console.error('bench:origin interrupted');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  log(`building ${opts.model} (random weights) in ${dir}`);
  const { buildModelFiles } = await import('../models/build.ts');
  await buildModelFiles({ variant, weights: 'random', seed: 1, split: false, fp16: false, outDir: dir });
  return {
    dir,
    cleanup: async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

interface Bare {
  run(batch: number): Promise<number>;
  release(): Promise<void>;
}

/** Bare ONNX Runtime on the same graph: one session, timed batches of synthetic input. */
async function bareOrt(
  modelPath: string,
  inputSize: number,
  inputName: string,
  provider: string,
): Promise<Bare> {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    ...(opts.threads > 0 ? { intraOpNumThreads: opts.threads } : {}),
  });
  const perImage = 3 * inputSize * inputSize;
  return {
    async run(batch) {
      const data = new Float32Array(batch * perImage).map((_, i) => Math.sin(i) * 0.5);
      const feeds = { [inputName]: new ort.Tensor('float32', data, [batch, 3, inputSize, inputSize]) };
      await session.run(feeds); // warm this shape
      // About as many images as one HTTP phase pushes through, so each figure averages over similar time.
      const runs = Math.max(2, Math.ceil(opts.requests / batch));
      const started = performance.now();
      for (let i = 0; i < runs; i++) await session.run(feeds);
      return round((runs * batch * 1000) / (performance.now() - started));
    },
    release: () => session.release(),
  };
}

interface Phase {
  img_s: number;
  p50_ms: number;
  p99_ms: number;
  mean_batch: number;
}

async function startServer(dir: string, maxBatch: number) {
  const config = parseConfig({
    ORIGIN_HOST: '127.0.0.1',
    ORIGIN_PORT: '0',
    ORIGIN_MODELS_DIR: dir,
    ORIGIN_MODELS: opts.model,
    ORIGIN_EXECUTION_PROVIDERS: opts.providers,
    ORIGIN_MAX_BATCH: String(maxBatch),
    ORIGIN_BATCH_WINDOW_MS: String(maxBatch > 1 ? opts.windowMs : 0),
    ORIGIN_MAX_QUEUE: String(Math.max(64, opts.concurrency * 2)),
    ORIGIN_THREADS: String(opts.threads),
    // Loopback only, and the bench measures serving rather than signing.
    ORIGIN_ALLOW_UNSIGNED: 'true',
  });
  const origin = await startOrigin(config, { log: () => {} });
  await origin.loaded;
  return origin;
}

const batchStats = async (base: string) => {
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const read = (name: string) =>
    Number(metrics.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm'))?.[1] ?? 0);
  return { images: read('origin_batch_size_sum'), batches: read('origin_batch_size_count') };
};

/** `opts.requests` requests from `opts.concurrency` clients, each sending the next as soon as one returns. */
async function httpLoad(base: string, image: Uint8Array<ArrayBuffer>): Promise<Phase> {
  const url = `${base}/v1/classify?model=${opts.model}&top_k=1`;
  const send = async () => {
    const t = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      body: image,
      headers: { 'content-type': 'image/jpeg' },
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`HTTP ${response.status} under load`);
    return performance.now() - t;
  };
  await send(); // connection set-up
  const before = await batchStats(base);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.requests) {
        next++;
        latencies.push(await send());
      }
    }),
  );
  const wall = performance.now() - started;
  const after = await batchStats(base);
  latencies.sort((a, b) => a - b);
  return {
    img_s: round((opts.requests * 1000) / wall),
    p50_ms: round(percentile(latencies, 50), 1),
    p99_ms: round(percentile(latencies, 99), 1),
    mean_batch: round((after.images - before.images) / (after.batches - before.batches)),
  };
}

/** The round with the median throughput (rounds interleave the modes, so drift hits all of them alike). */
function median<T extends { img_s: number }>(rounds: T[]): T {
  return [...rounds].sort((a, b) => a.img_s - b.img_s)[Math.floor((rounds.length - 1) / 2)] as T;
}

async function main() {
  const models = await modelDir();
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  let bare: Bare | undefined;
  try {
    const manifest = await readManifest(join(models.dir, opts.model));
    const { bytes, source } = await requestImage();
    log(
      `${opts.model}: ${opts.rounds} rounds x ${opts.requests} requests, concurrency ${opts.concurrency}, image ${source}`,
    );
    const batchedServer = await startServer(models.dir, opts.maxBatch);
    servers.push(batchedServer);
    const unbatchedServer = await startServer(models.dir, 1);
    servers.push(unbatchedServer);
    const provider = batchedServer.registry.get(opts.model)?.classifier.provider ?? 'unknown';
    bare = await bareOrt(manifest.modelPath, manifest.resolution, manifest.inputName, provider);

    // Bare ORT's best batch size, from one sweep.
    const sweep: Record<string, number> = {};
    for (let b = 1; b <= opts.maxBatch; b *= 2) sweep[b] = await bare.run(b);
    const bestBatch = Number((Object.entries(sweep).sort((a, b) => b[1] - a[1])[0] as [string, number])[0]);
    log(`bare sweep (img/s by batch): ${JSON.stringify(sweep)}`);

    const rounds: { batched: Phase; unbatched: Phase; bare: { img_s: number } }[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const round = {
        batched: await httpLoad(batchedServer.url, bytes),
        unbatched: await httpLoad(unbatchedServer.url, bytes),
        bare: { img_s: await bare.run(bestBatch) },
      };
      log(`round ${r + 1}: ${JSON.stringify(round)}`);
      rounds.push(round);
    }
    const batched = median(rounds.map((r) => r.batched));
    const bareBest = median(rounds.map((r) => r.bare));
    const report = {
      model: opts.model,
      provider,
      resolution: manifest.resolution,
      requests: opts.requests,
      concurrency: opts.concurrency,
      rounds: opts.rounds,
      max_batch: opts.maxBatch,
      window_ms: opts.windowMs,
      image: source,
      batched,
      unbatched: median(rounds.map((r) => r.unbatched)),
      bare: { img_s: bareBest.img_s, batch: bestBatch, sweep },
      efficiency: round(batched.img_s / bareBest.img_s, 3),
      // Spread of the per-round efficiency: how noisy this run was.
      efficiency_rounds: rounds.map((r) => round(r.batched.img_s / r.bare.img_s, 3)),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
      date: new Date().toISOString(),
    };
    console.log(opts.json ? JSON.stringify(report) : JSON.stringify(report, null, 2));
  } finally {
    await bare?.release();
    for (const server of servers) await server.close();
    await models.cleanup();
  }
}

main().catch((error: Error) => {
  console.error(`bench:origin failed: ${error.message}`);
  process.exitCode = 1;
});
