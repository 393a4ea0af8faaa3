import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreprocessPool } from '../../gpu-origin/image/preprocess-pool.ts';
import { ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { preprocessFor } from '../../shared/catalog/models.ts';
import { buildModelsDir, classify, solidImage, startTestOrigin, type TestOrigin } from './helpers.ts';

// Real worker threads that really die: the fixture worker is the production one plus a marker that makes
// it exit (or spin) on the job that carries it.

const FAULTY_WORKER = new URL('./fixtures/faulty-preprocess-worker.mjs', import.meta.url);
const marked = async (marker: string) =>
  // Trailing bytes after a JPEG's end are ignored by decoders; the marker only matters to the fixture.
  new Uint8Array(Buffer.concat([await solidImage('jpeg', 64, 48), Buffer.from(marker)]));

let origin: TestOrigin;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const models = await buildModelsDir(['b0']);
  cleanup = models.cleanup;
  origin = await startTestOrigin(
    models.dir,
    { ORIGIN_PREPROCESS_WORKERS: '2', ORIGIN_BATCH_WINDOW_MS: '0' },
    { preprocessWorkerUrl: FAULTY_WORKER },
  );
});

afterAll(async () => {
  await origin?.close();
  await cleanup?.();
});

describe('a preprocessing worker that exits mid-request', () => {
  it('fails only its own job with 503 + Retry-After, and is replaced', async () => {
    // A large image keeps one worker busy while the other one dies.
    const big = await solidImage('jpeg', 3000, 2000);
    const busy = classify(origin.url, big);
    while (origin.preparer.stats().running === 0) await new Promise((r) => setTimeout(r, 2));
    const crashed = await classify(origin.url, await marked('exit-this-worker'));

    expect(crashed.status).toBe(503);
    expect(Number(crashed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(ErrorEnvelopeSchema.parse(await crashed.json()).error.code).toBe('model_unavailable');
    expect((await busy).status).toBe(200);
    expect(origin.logs.join('\n')).toMatch(
      /preprocess worker \d exited with code 7 holding a job; replacing it/,
    );

    // Both workers serve again: two concurrent jobs, each needing a worker of its own.
    const image = await solidImage('png', 300, 200);
    const again = await Promise.all([classify(origin.url, image), classify(origin.url, image)]);
    expect(again.map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('job deadlines', () => {
  it('answers a job at its deadline even when its worker hangs, then replaces the worker', async () => {
    const logs: string[] = [];
    const pool = createPreprocessPool({
      size: 1,
      workerUrl: FAULTY_WORKER,
      hungAfterMs: 200,
      log: (line) => logs.push(line),
    });
    const spec = preprocessFor('b0', 'random');
    const limits = { maxBytes: 1 << 20, maxPixels: 1 << 20 };
    try {
      const started = performance.now();
      const hung = pool.prepare(await marked('hang-this-worker'), spec, limits, started + 300);
      await expect(hung).rejects.toMatchObject({ code: 'deadline_exceeded' });
      const answeredAfter = performance.now() - started;
      // Tolerance: timers on a loaded machine fire late, never early.
      expect(answeredAfter).toBeGreaterThanOrEqual(299);
      expect(answeredAfter).toBeLessThan(3000);

      // The next job waits for the replacement worker rather than failing.
      const next = await pool.prepare(
        new Uint8Array(await solidImage('png')),
        spec,
        limits,
        performance.now() + 30_000,
      );
      expect(next.tensor.length).toBe(3 * spec.cropSize * spec.cropSize);
      expect(logs.join('\n')).toMatch(/overran a deadline by 200 ms; terminating it/);
    } finally {
      await pool.close();
    }
  });
});
