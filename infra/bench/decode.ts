// Decoder benchmark inside real workerd. Prints JSON.
//  - The edge path of a B0 request (probe, edge limits, DCT-scaled decode keeping the shorter side >= 512,
//    orientation, B0 preprocessing) on 1, 4, 12 and 24 MP phone-style JPEGs (EXIF orientation 6): median latency, the 12 MP / 1 MP ratio, and the peak
//    memory one request adds to workerd (VmHWM reset through /proc/PID/clear_refs, fresh runtime per size).
//  - With --codecs: the full-size codec comparison (WASM versus pure JS) that chose the codecs.
//  - With --factors, only this: libjpeg-turbo's decode alone at each DCT scaling factor M/8 (1 and 4 MP),
//    which chose the factors the edge uses (edge/image/decode-plan.ts JPEG_SCALES_EIGHTHS).
//
//   npx tsx infra/bench/decode.ts [--reps 7] [--codecs] [--factors] [--memory-only]
//
// Latency is measured from outside (as it must be on a deployed Worker, whose clocks stand still while
// JavaScript runs; local workerd's advance): each request
// decodes the body `n` times; a `noop` request with the same body is subtracted.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { unstable_startWorker } from 'wrangler';
import { jpegScaleEighths, scaleName } from '../../edge/image/decode-plan.ts';
import { decodeMinSideFor } from '../../edge/image/edge-limits.ts';

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PHOTOS = join(ROOT, '../shared/data/imagenet-val-100/images');
const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    codecs: { type: 'boolean', default: false },
    factors: { type: 'boolean', default: false },
    'memory-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const REPS = Number(flags.reps);
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps must be a positive whole number');
const PER_REQUEST = 3;

/** A grid of real photos when ../shared has them (realistic entropy), else gradients plus noise. */
async function testImage(
  width: number,
  height: number,
  tiles: number,
): Promise<{ raw: Buffer; source: string }> {
  const files = existsSync(PHOTOS) ? readdirSync(PHOTOS).filter((f) => /\.jpe?g$/i.test(f)) : [];
  if (files.length >= tiles * tiles) {
    const tw = Math.floor(width / tiles);
    const th = Math.floor(height / tiles);
    const composites = await Promise.all(
      files.slice(0, tiles * tiles).map(async (f, i) => ({
        input: await sharp(join(PHOTOS, f)).resize(tw, th, { fit: 'cover' }).toBuffer(),
        left: (i % tiles) * tw,
        top: Math.floor(i / tiles) * th,
      })),
    );
    const raw = await sharp({ create: { width, height, channels: 3, background: '#808080' } })
      .composite(composites)
      .raw()
      .toBuffer();
    return { raw, source: `${tiles}x${tiles} ImageNet validation photos` };
  }
  const raw = Buffer.alloc(width * height * 3);
  let seed = 1;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const p = Math.floor(i / 3);
    raw[i] = (((p % width) * 255) / width + (seed % 48)) & 0xff;
  }
  return { raw, source: 'synthetic gradient + noise (../shared photos absent)' };
}

async function encodeAll(width: number, height: number, tiles: number) {
  const { raw, source } = await testImage(width, height, tiles);
  const base = () => sharp(raw, { raw: { width, height, channels: 3 } });
  return {
    source,
    jpeg: await base().jpeg({ quality: 90 }).toBuffer(),
    jpegRotated: await base().withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer(),
    png: await base().png({ compressionLevel: 6 }).toBuffer(),
    webp: await base().webp({ quality: 90 }).toBuffer(),
  };
}

async function startWorker() {
  const worker = await unstable_startWorker({
    name: 'decode-bench',
    entrypoint: join(ROOT, 'infra/bench/decode-worker.ts'),
    compatibilityDate: '2026-04-26',
    dev: { server: { port: 0 }, inspector: false, watch: false, logLevel: 'warn' },
  });
  await worker.ready;
  return worker;
}
type BenchWorker = Awaited<ReturnType<typeof startWorker>>;

async function timedRequest(
  worker: BenchWorker,
  codec: string,
  body: Buffer,
  n: number,
  read = 'limit',
): Promise<number> {
  const start = performance.now();
  const res = await worker.fetch(`http://bench/?codec=${codec}&n=${n}&read=${read}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'image/jpeg', 'content-length': String(body.length) },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${codec}: HTTP ${res.status} ${text}`);
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Median per-decode milliseconds, with the noop request (same body) subtracted. */
async function latency(worker: BenchWorker, codec: string, body: Buffer, read = 'limit'): Promise<number> {
  await timedRequest(worker, codec, body, 1, read); // instantiate the codec, warm the JIT
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const full = await timedRequest(worker, codec, body, PER_REQUEST, read);
    const empty = await timedRequest(worker, 'noop', body, PER_REQUEST, read);
    times.push((full - empty) / PER_REQUEST);
  }
  return Math.round(median(times) * 10) / 10;
}

/** workerd processes started beneath this one (wrangler spawns the runtime as a child). */
function workerdPids(): number[] {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
      names.set(Number(entry), name);
    } catch {
      // the process exited while we looked
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p))
      if (p === process.pid) return true;
    return false;
  };
  return [...names]
    .filter(([pid, name]) => name.startsWith('workerd') && isDescendant(pid))
    .map(([pid]) => pid);
}

function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** Every workerd process started by this one: reset their peak RSS (VmHWM) to the current RSS. */
function resetPeaks(pids: number[]): void {
  for (const pid of pids) writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** A phone-style photo: real photos tiled (or synthetic), EXIF orientation 6, JPEG q90, baseline 4:2:0. */
async function phoneJpeg(width: number, height: number, tiles: number) {
  const { raw, source } = await testImage(width, height, tiles);
  // q90 like a phone, lowered in steps while the file would exceed the 10 MiB body limit.
  for (let quality = 90; ; quality -= 5) {
    const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality })
      .toBuffer();
    if (jpeg.length <= 10 * 1024 * 1024 || quality <= 50) return { jpeg, source: `${source}, q${quality}` };
  }
}

/**
 * Added peak memory of one edge-path request: a fresh runtime, a warm-up request on a small JPEG (codec
 * instantiated, JIT warm), peaks reset, then the request; the worker's workerd is the one that grew.
 */
async function addedPeak(body: Buffer, warm: Buffer, codec: string, read: string) {
  const worker = await startWorker();
  try {
    await timedRequest(worker, 'pipeline', warm, 1);
    // Only the runtimes still there after the warm-up (wrangler may start and stop helpers).
    const pids = workerdPids().filter((pid) => existsSync(`/proc/${pid}/status`));
    resetPeaks(pids);
    const before = new Map(pids.map((pid) => [pid, memoryMiB(pid)]));
    await timedRequest(worker, codec, body, 1, read);
    const grown = pids
      .filter((pid) => existsSync(`/proc/${pid}/status`))
      .map((pid) => ({ pid, added: memoryMiB(pid).peak - (before.get(pid) as { rss: number }).rss }))
      .sort((a, b) => b.added - a.added)[0];
    return grown?.added ?? Number.NaN;
  } finally {
    await worker.dispose();
  }
}

async function codecComparison() {
  const small = await encodeAll(1280, 800, 4);
  const worker = await startWorker();
  const decodeMs: Record<string, number> = {};
  try {
    decodeMs['jpeg/wasm-libjpeg-turbo(full size)'] = await latency(worker, 'wasm-jpeg', small.jpeg);
    decodeMs['jpeg/jpeg-js'] = await latency(worker, 'jpeg-js', small.jpeg);
    decodeMs['png/wasm-png'] = await latency(worker, 'wasm-png', small.png);
    decodeMs['png/fast-png'] = await latency(worker, 'fast-png', small.png);
    decodeMs['webp/wasm-libwebp'] = await latency(worker, 'wasm-webp', small.webp);
  } finally {
    await worker.dispose();
  }
  return { image: { size: '1280x800', source: small.source }, medianDecodeMs: decodeMs };
}

/** Median decode ms at each M/8, factors interleaved per round so that background load hits all alike. */
async function factorComparison(bodies: Record<string, Buffer>) {
  const worker = await startWorker();
  const decodeMs: Record<string, Record<string, number>> = {};
  try {
    for (const name of ['1MP', '4MP']) {
      const body = bodies[name] as Buffer;
      const times: Record<string, number[]> = Object.fromEntries(
        [1, 2, 3, 4, 5, 6, 7, 8].map((eighths) => [`${eighths}/8`, []]),
      );
      for (let eighths = 1; eighths <= 8; eighths++)
        await timedRequest(worker, `wasm-jpeg-${eighths}of8`, body, 1);
      for (let round = 0; round < REPS; round++) {
        const empty = await timedRequest(worker, 'noop', body, PER_REQUEST);
        for (let eighths = 8; eighths >= 1; eighths--) {
          const full = await timedRequest(worker, `wasm-jpeg-${eighths}of8`, body, PER_REQUEST);
          times[`${eighths}/8`]?.push((full - empty) / PER_REQUEST);
        }
      }
      decodeMs[name] = Object.fromEntries(
        Object.entries(times).map(([factor, xs]) => [factor, Math.round(median(xs) * 10) / 10]),
      );
    }
  } finally {
    await worker.dispose();
  }
  return decodeMs;
}

const SIZES = [
  { name: '1MP', width: 1155, height: 866, tiles: 3 },
  { name: '4MP', width: 2309, height: 1732, tiles: 5 },
  { name: '12MP', width: 4032, height: 3024, tiles: 8 },
  { name: '24MP', width: 6000, height: 4000, tiles: 10 },
] as const;

async function main() {
  const images: Record<string, { bytes: number; source: string }> = {};
  const bodies: Record<string, Buffer> = {};
  for (const size of SIZES) {
    const { jpeg, source } = await phoneJpeg(size.width, size.height, size.tiles);
    bodies[size.name] = jpeg;
    images[size.name] = { bytes: jpeg.length, source: `${size.width}x${size.height}, ${source}` };
  }
  if (flags.factors) {
    const decodeMsPerFactor = await factorComparison(bodies);
    const loadAverage = loadavg().map((x) => Math.round(x * 10) / 10);
    console.log(JSON.stringify({ images, repsPerSize: REPS, decodeMsPerFactor, loadAverage }, null, 2));
    return;
  }
  const warm = (await phoneJpeg(320, 240, 1)).jpeg;
  const pipelineMs: Record<string, number> = {};
  const decodeOnlyMs: Record<string, number> = {};
  const decodeOnlyJsMs: Record<string, number> = {};
  const worker = flags['memory-only'] ? undefined : await startWorker();
  try {
    // Interleaved sizes within one runtime, so that background load hits all of them alike.
    for (const size of worker ? SIZES : []) {
      pipelineMs[size.name] = await latency(worker as BenchWorker, 'pipeline', bodies[size.name] as Buffer);
      decodeOnlyMs[size.name] = await latency(
        worker as BenchWorker,
        'edge-decode',
        bodies[size.name] as Buffer,
      );
      decodeOnlyJsMs[size.name] = await latency(
        worker as BenchWorker,
        'edge-decode',
        bodies[size.name] as Buffer,
        'limit-js',
      );
    }
  } finally {
    await worker?.dispose();
  }
  // Peak per body reader (see decode-worker.ts): `limit` is the route's (into the decoder's heap),
  // `limit-js` the same into a JavaScript buffer (before), `chunks` the one that replaced,
  // `arraybuffer` request.arrayBuffer(). `noop` answers the same upload without decoding it.
  const CASES = [
    ['pipeline', 'limit'],
    ['pipeline', 'limit-js'],
    ['pipeline', 'chunks'],
    ['noop', 'limit'],
    ['noop', 'chunks'],
    ['noop', 'arraybuffer'],
  ] as const;
  const addedPeakMiB: Record<string, Record<string, number>> = {};
  for (const [codec, read] of CASES) {
    const row: Record<string, number> = {};
    for (const size of SIZES)
      row[size.name] = await addedPeak(bodies[size.name] as Buffer, warm, codec, read);
    addedPeakMiB[`${codec}/${read}`] = row;
  }
  const result = {
    runtime: 'workerd (wrangler unstable_startWorker), compatibility_date 2026-04-26',
    path: 'probe + edge limits + libjpeg-turbo DCT-scaled decode for B0 + orientation 6 + B0 preprocess (256/224 bicubic)',
    images,
    decodedAt: Object.fromEntries(
      SIZES.map((size) => [
        size.name,
        scaleName(jpegScaleEighths(size.width, size.height, decodeMinSideFor('efficientnet-b0'))),
      ]),
    ),
    repsPerSize: REPS,
    decodesPerRequest: PER_REQUEST,
    pipelineMedianMs: pipelineMs,
    // The same decode without preprocessing: the difference is B0's preprocessing in workerd.
    decodeOnlyMedianMs: decodeOnlyMs,
    // The same with the upload in a JavaScript buffer (copied into the shared codec instance per decode).
    decodeOnlyJsBufferMedianMs: decodeOnlyJsMs,
    ratio12MPvs1MP: Math.round(((pipelineMs['12MP'] as number) / (pipelineMs['1MP'] as number)) * 100) / 100,
    ratio24MPvs1MP: Math.round(((pipelineMs['24MP'] as number) / (pipelineMs['1MP'] as number)) * 100) / 100,
    addedPeakMiB,
    loadAverage: loadavg().map((x) => Math.round(x * 10) / 10),
    ...(flags.codecs ? { codecs: await codecComparison() } : {}),
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
