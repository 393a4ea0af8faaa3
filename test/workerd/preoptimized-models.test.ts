// The edge models as `npm start` deploys them (split, saved as onnxruntime optimised them, loaded with
// optimisation off) in real workerd: both tiers answer with the same predictions as the plain graphs, and
// B0 and B1 loaded together stay within the isolate's memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestPhoto, testPhoto } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { preoptimizedTestModels, testModels } from '../../infra/models/cache.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';

/** Scores are softmax of logits that agree within 1e-4 (test/unit/models-preoptimize.test.ts). */
const SCORE_TOLERANCE = 1e-4;
/** Workers allow 128 MB per isolate; ORT's WASM heap must leave room for the JS heap and a decode. */
const ISOLATE_BYTES = 128 * 1e6;

let photo: TestPhoto;
const workers: BootedWorker[] = [];

beforeAll(async () => {
  photo = await testPhoto();
});
afterAll(async () => {
  for (const worker of workers) await worker.dispose();
});

async function classifyBoth(worker: BootedWorker) {
  const out: Record<string, ReturnType<typeof ClassifyResponseSchema.parse>> = {};
  for (const tier of ['fast', 'balanced']) {
    const response = await worker.fetch(`/v1/classify?tier=${tier}&top_k=5`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: photo.bytes,
    });
    expect(response.status).toBe(200);
    out[tier] = ClassifyResponseSchema.parse(await response.json());
  }
  return out;
}

describe('pre-optimised edge models in workerd', () => {
  it('answer like the plain graphs, and B0 + B1 together fit the isolate', async () => {
    const plainModels = await testModels();
    const optimizedModels = await preoptimizedTestModels();
    const vars = { DEBUG_ROUTES: '1', ALLOW_OPEN_API: '1' };
    const plain = await bootWorker({ models: [plainModels.b0, plainModels.b1Split], vars });
    workers.push(plain);
    const expected = await classifyBoth(plain);
    await plain.dispose();
    workers.pop();

    const optimized = await bootWorker({ models: [optimizedModels.b0, optimizedModels.b1Split], vars });
    workers.push(optimized);
    const actual = await classifyBoth(optimized);
    for (const tier of ['fast', 'balanced']) {
      const want = expected[tier];
      const got = actual[tier];
      expect(got?.model).toBe(want?.model);
      expect(got?.predictions.map((p) => p.index)).toEqual(want?.predictions.map((p) => p.index));
      got?.predictions.forEach((p, i) => {
        expect(Math.abs(p.score - (want?.predictions[i]?.score ?? Number.NaN))).toBeLessThanOrEqual(
          SCORE_TOLERANCE,
        );
      });
    }
    const debug = (await (await optimized.fetch('/_debug/inference')).json()) as {
      wasm_heap_bytes: number;
      sessions: Record<string, { loaded: boolean }>;
    };
    expect(debug.sessions['efficientnet-b1']?.loaded).toBe(true);
    expect(debug.wasm_heap_bytes).toBeGreaterThan(16 * 2 ** 20);
    expect(debug.wasm_heap_bytes).toBeLessThan(ISOLATE_BYTES);
  });
});
