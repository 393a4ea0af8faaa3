// Where a fresh Worker's first request spends the time outside the classify handler
// (coldParts' outside_handler_ms). Each round boots one fresh Worker per way in, the ways interleaved:
//   proxy / direct       the first request goes through wrangler's dev proxy (a ProxyWorker in a
//                        workerd of its own) or straight to the Worker's workerd socket; same bundle,
//                        same workerd, same isolate start.
//   classify             the first request is the classification;
//   health               GET /healthz first (a route that touches no model), then the classification.
//   idle                 the Worker sits idle `--idle-ms` after `ready` first (background compilation).
//   ...-early            bootWorker returns when the dev proxy is up, as unstable_startWorker's `ready`
//                        does (and bootWorker did), not when the Worker's runtime is: the first request
//                        then waits for the runtime to start.
//   npx tsx infra/bench/edge-first.ts [--rounds 3] [--model b0|b1] [--bundle <dir>] [--ways a,b]
// Prints one JSON line per fresh Worker, then a summary (medians per way).
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { ModelId } from '../../shared/catalog/models.ts';
import { type BootedWorker, bootWorker, bundleWorker } from '../dev/workerd.ts';
import { preoptimizedTestModels } from '../models/cache.ts';
import { coldParts, type LoadTimings, median, round, type Sample } from './edge-measure.ts';
import { testPhoto } from './images.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    model: { type: 'string', default: 'b0' },
    bundle: { type: 'string' },
    ways: { type: 'string', default: 'proxy-classify-early,proxy-classify,direct-classify,proxy-health' },
    'idle-ms': { type: 'string', default: '3000' },
  },
  strict: true,
});

type Way = `${'proxy' | 'direct'}-${'classify' | 'health' | 'idle'}${'' | '-early'}`;
const WAY = /^(proxy-(classify|health|idle)(-early)?|direct-(classify|health|idle))$/;
const WAYS = flags.ways.split(',') as Way[];
const unknown = WAYS.filter((way) => !WAY.test(way));
if (unknown.length > 0) {
  console.error(
    `unknown way(s) ${unknown.join(', ')}: use proxy|direct-classify|health|idle, proxy-...-early`,
  );
  process.exit(2);
}
const model: ModelId = flags.model === 'b1' ? 'efficientnet-b1' : 'efficientnet-b0';

async function timed(
  send: () => Promise<Response>,
): Promise<{ ms: number; response: Response; body: unknown }> {
  const started = performance.now();
  const response = await send();
  const body: unknown = await response.json();
  return { ms: performance.now() - started, response, body };
}

async function firstRequests(worker: BootedWorker, way: Way, jpeg: Uint8Array<ArrayBuffer>) {
  const [route, first] = way.split('-') as ['proxy' | 'direct', 'classify' | 'health' | 'idle'];
  const send = route === 'proxy' ? worker.fetch : worker.fetchDirect;
  const out: Record<string, unknown> = {};
  if (first === 'health') out.health_first_ms = round((await timed(() => send('/healthz'))).ms);
  if (first === 'idle') await new Promise((resolve) => setTimeout(resolve, Number(flags['idle-ms'])));
  const classify = await timed(() =>
    send(`/v1/classify?model=${model}`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: jpeg,
    }),
  );
  const body = classify.body as { timings_ms: Sample['timings']; predictions: { index: number }[] };
  if (classify.response.status !== 200) throw new Error(`classify answered ${classify.response.status}`);
  const debug = (await (await send('/_debug/inference')).json()) as { load_ms?: Record<string, LoadTimings> };
  const parts = coldParts({ elapsed: classify.ms, timings: body.timings_ms }, debug.load_ms?.[model]);
  // The same route again on the now warm Worker: what one request costs outside the handler anyway.
  const again = await timed(() => send('/healthz'));
  return {
    ...out,
    classify_ms: round(classify.ms),
    ...parts,
    health_warm_ms: round(again.ms),
    top1: body.predictions[0]?.index,
  };
}

async function main() {
  const photo = await testPhoto();
  const jpeg = new Uint8Array(
    await sharp(photo.bytes).resize(1155, 866, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer(),
  );
  const models = await preoptimizedTestModels();
  const files = model === 'efficientnet-b0' ? models.b0 : models.b1Split;
  const scratch = await mkdtemp(path.join(tmpdir(), 'bench-first-'));
  try {
    const prebuilt = flags.bundle ?? (await bundleWorker(path.join(scratch, 'bundle')));
    const rows: Record<string, unknown>[] = [];
    for (let r = 0; r < Number(flags.rounds); r++) {
      for (const way of WAYS) {
        const load = os.loadavg()[0] ?? 0;
        const bootStarted = performance.now();
        const worker = await bootWorker({
          models: [files],
          vars: { DEBUG_ROUTES: '1', ALLOW_OPEN_API: '1', RESULT_CACHE_TTL_S: '0' },
          prebuilt,
          logLevel: 'none',
          returnAtProxyReady: way.endsWith('-early'),
        });
        const bootMs = performance.now() - bootStarted;
        try {
          const requests = await firstRequests(worker, way, jpeg);
          const row = {
            way,
            round: r,
            load: round(load, 2),
            boot_ms: round(bootMs),
            proxy_ready_ms: round(worker.startup.proxyReadyMs),
            runtime_ready_ms: round(await worker.startup.runtimeReadyMs),
            runtime_start_ms: round(await worker.startup.runtimeStartMs),
            ...requests,
          };
          console.log(JSON.stringify(row));
          rows.push(row);
        } finally {
          await worker.dispose();
        }
      }
    }
    const summary: Record<string, Record<string, number>> = {};
    for (const way of WAYS) {
      const mine = rows.filter((row) => row.way === way);
      const keys = Object.keys(mine[0] ?? {}).filter(
        (k) => typeof mine[0]?.[k] === 'number' && k !== 'round',
      );
      summary[way] = Object.fromEntries(
        keys.map((k) => [k, round(median(mine.map((row) => row[k] as number)))]),
      );
    }
    console.log(JSON.stringify({ model, rounds: Number(flags.rounds), summary }, null, 2));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
