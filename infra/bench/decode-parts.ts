// Where the edge's warm JPEG decode of a B0 request goes, inside real workerd: the parts of decodeImage
// (upload into a codec heap, the end-of-image walk, the decode-memory lease, libjpeg-turbo's
// tjDecompress2 alone in a fresh and a reused instance, the copy out of the codec heap), on the 1 MP
// bench photo of bench:edge (1155x866, decoded at 5/8). Prints JSON; compare parts within one run.
//
//   npx tsx infra/bench/decode-parts.ts [--rounds 3] [--n 20]
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { unstable_startWorker } from 'wrangler';
import { testPhoto } from './images.ts';

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values: flags } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, n: { type: 'string', default: '20' } },
  strict: true,
});
const ROUNDS = Number(flags.rounds);
const N = Number(flags.n);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && Number.isInteger(N) && N >= 1))
  throw new Error('--rounds and --n must be positive whole numbers');

const photo = await testPhoto();
const body = await sharp(photo.bytes).resize(1155, 866, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
const worker = await unstable_startWorker({
  name: 'decode-parts',
  entrypoint: join(ROOT, 'infra/bench/decode-parts-worker.ts'),
  compatibilityDate: '2026-04-26',
  dev: { server: { port: 0 }, inspector: false, watch: false, logLevel: 'warn' },
});
try {
  await worker.ready;
  const post = async (path: string) => {
    const res = await worker.fetch(`http://bench${path}`, { method: 'POST', body });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  // The first decodes of an isolate, one after the other, then 200 ms apart (as requests come).
  const firstDecodes = await post(`/seq?n=${N}`);
  const spacedDecodes = await post(`/seq?n=${Math.min(N, 10)}&gap=200`);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await post(`/?n=${N}`));
  console.log(
    JSON.stringify(
      {
        image: `${photo.source} resized to 1155x866 (${body.length} bytes)`,
        repetitions_per_part: N,
        load_average_1m: Number((loadavg()[0] ?? 0).toFixed(2)),
        first_decodes: firstDecodes,
        spaced_decodes: spacedDecodes,
        rounds,
      },
      null,
      1,
    ),
  );
} finally {
  await worker.dispose();
}
