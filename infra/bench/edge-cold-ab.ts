// Two (or more) builds of the Worker compared on their first request, booted alternately round by round
// so that the shared machine's load falls on all of them alike. Build each bundle from its own code first:
//   npx tsx infra/bench/edge-cold-ab.ts bundle /tmp/ab/before     (with the old code checked out)
//   npx tsx infra/bench/edge-cold-ab.ts bundle /tmp/ab/after
//   npx tsx infra/bench/edge-cold-ab.ts run 5 /tmp/ab/before /tmp/ab/after
// Prints one JSON line per first request (B0 as deployed, the 1155x866 bench photo): cold_ms, its parts
// (coldParts) and the top-1 answer, which must not differ between builds.
import sharp from 'sharp';
import { bootWorker, bundleWorker } from '../dev/workerd.ts';
import { preoptimizedTestModels } from '../models/cache.ts';
import { coldParts, type LoadTimings, type Sample } from './edge-measure.ts';
import { testPhoto } from './images.ts';

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'bundle' && rest[0]) {
  console.log(await bundleWorker(rest[0]));
} else if (mode === 'run' && rest.length >= 2) {
  const [rounds, ...bundles] = rest;
  const photo = await testPhoto();
  const jpeg = new Uint8Array(
    await sharp(photo.bytes).resize(1155, 866, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer(),
  );
  const deployed = await preoptimizedTestModels();
  for (let round = 0; round < Number(rounds); round++) {
    for (const prebuilt of bundles) {
      const worker = await bootWorker({
        models: [deployed.b0],
        vars: { DEBUG_ROUTES: '1', ALLOW_OPEN_API: '1', RESULT_CACHE_TTL_S: '0' },
        prebuilt,
        logLevel: 'none',
      });
      try {
        const started = performance.now();
        const response = await worker.fetch('/v1/classify?model=efficientnet-b0', {
          method: 'POST',
          headers: { 'content-type': 'image/jpeg' },
          body: jpeg,
        });
        const body = (await response.json()) as {
          timings_ms: Sample['timings'];
          predictions: { index: number; score: number }[];
        };
        const elapsed = performance.now() - started;
        if (response.status !== 200) throw new Error(`classify answered ${response.status}`);
        const debug = (await (await worker.fetch('/_debug/inference')).json()) as {
          load_ms?: Record<string, LoadTimings>;
        };
        const parts = coldParts({ elapsed, timings: body.timings_ms }, debug.load_ms?.['efficientnet-b0']);
        const top1 = body.predictions[0];
        console.log(JSON.stringify({ build: prebuilt, round, cold_ms: Math.round(elapsed), ...parts, top1 }));
      } finally {
        await worker.dispose();
      }
    }
  }
} else {
  console.error('usage: edge-cold-ab.ts bundle <dir> | run <rounds> <bundle dir> <bundle dir>...');
  process.exit(2);
}
