// Decoder benchmark inside real workerd: per-decode latency of WASM codecs versus pure-JS libraries on
// ~1 MP images, the full probe → decode → preprocess path, and the workerd process's peak memory when
// decoding the largest accepted image (16 MP). Prints JSON.
//
//   npx tsx infra/bench/decode.ts [--reps 7]
//
// Latency is measured from outside (workerd's clocks stand still while JavaScript runs): each request
// decodes the body `n` times; a `noop` request with the same body is subtracted.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { unstable_startWorker } from 'wrangler';

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PHOTOS = join(ROOT, '../shared/data/imagenet-val-100/images');
const { values: flags } = parseArgs({ options: { reps: { type: 'string', default: '7' } }, strict: true });
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

async function timedRequest(worker: BenchWorker, codec: string, body: Buffer, n: number): Promise<number> {
  const start = performance.now();
  const res = await worker.fetch(`http://bench/?codec=${codec}&n=${n}`, { method: 'POST', body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${codec}: HTTP ${res.status} ${text}`);
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Median per-decode milliseconds, with the noop request (same body) subtracted. */
async function latency(worker: BenchWorker, codec: string, body: Buffer): Promise<number> {
  await timedRequest(worker, codec, body, 1); // instantiate the codec, warm the JIT
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const full = await timedRequest(worker, codec, body, PER_REQUEST);
    const empty = await timedRequest(worker, 'noop', body, PER_REQUEST);
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

/**
 * Peak RSS of the workerd running the worker, before and after one decode of `body`, in a fresh runtime.
 * Wrangler runs two workerd processes (a proxy and the worker's own); the worker's is the one that grows.
 */
async function peakMemory(codec: string, body: Buffer, small: Buffer) {
  const worker = await startWorker();
  try {
    await timedRequest(worker, 'noop', body, 1);
    const pids = workerdPids();
    const before = new Map(pids.map((pid) => [pid, memoryMiB(pid)]));
    await timedRequest(worker, codec, body, 1);
    const rows = pids.map((pid) => ({
      pid,
      before: before.get(pid) as { peak: number },
      after: memoryMiB(pid),
    }));
    const grown = rows.sort((a, b) => b.after.peak - b.before.peak - (a.after.peak - a.before.peak))[0];
    if (!grown) return { error: 'workerd process not found' };
    // What the isolate keeps afterwards: a few small decodes of the same format give the GC its chance.
    for (let i = 0; i < 5; i++) await timedRequest(worker, codec, small, 1);
    return {
      baselinePeakMiB: grown.before.peak,
      peakMiB: grown.after.peak,
      addedPeakMiB: grown.after.peak - grown.before.peak,
      rssAfterSmallDecodesMiB: memoryMiB(grown.pid).rss,
    };
  } finally {
    await worker.dispose();
  }
}

async function main() {
  const small = await encodeAll(1280, 800, 4);
  const large = await encodeAll(4896, 3264, 8);
  const worker = await startWorker();
  const decodeMs: Record<string, number> = {};
  try {
    decodeMs['jpeg/wasm-mozjpeg'] = await latency(worker, 'wasm-jpeg', small.jpeg);
    decodeMs['jpeg/jpeg-js'] = await latency(worker, 'jpeg-js', small.jpeg);
    decodeMs['png/wasm-png'] = await latency(worker, 'wasm-png', small.png);
    decodeMs['png/fast-png'] = await latency(worker, 'fast-png', small.png);
    decodeMs['webp/wasm-libwebp'] = await latency(worker, 'wasm-webp', small.webp);
    decodeMs['jpeg/pipeline(decode+preprocess 224)'] = await latency(worker, 'pipeline', small.jpeg);
    decodeMs['jpeg-16MP/wasm-mozjpeg'] = await latency(worker, 'wasm-jpeg', large.jpeg);
    decodeMs['jpeg-16MP/pipeline(decode+preprocess 224)'] = await latency(worker, 'pipeline', large.jpeg);
  } finally {
    await worker.dispose();
  }
  const memory = {
    'jpeg-16MP/wasm-mozjpeg': await peakMemory('wasm-jpeg', large.jpeg, small.jpeg),
    'jpeg-16MP/jpeg-js': await peakMemory('jpeg-js', large.jpeg, small.jpeg),
    'jpeg-16MP/pipeline': await peakMemory('pipeline', large.jpeg, small.jpeg),
    'jpeg-16MP-rotated/pipeline': await peakMemory('pipeline', large.jpegRotated, small.jpeg),
    'png-16MP/wasm-png': await peakMemory('wasm-png', large.png, small.png),
    'webp-16MP/wasm-libwebp': await peakMemory('wasm-webp', large.webp, small.webp),
  };
  const bytes = (e: { jpeg: Buffer; png: Buffer; webp: Buffer }) => ({
    jpeg: e.jpeg.length,
    png: e.png.length,
    webp: e.webp.length,
  });
  const result = {
    runtime: 'workerd (wrangler unstable_startWorker), compatibility_date 2026-04-26',
    images: {
      small: { size: '1280x800', source: small.source, bytes: bytes(small) },
      large: { size: '4896x3264', source: large.source, bytes: bytes(large) },
    },
    repsPerCandidate: REPS,
    decodesPerRequest: PER_REQUEST,
    medianDecodeMs: decodeMs,
    workerdPeakRss: memory,
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
