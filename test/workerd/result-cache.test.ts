// The edge result cache in real workerd: the Workers Cache API as wrangler's local runtime provides it,
// weights checksums read from model.json in local R2, and waitUntil storing after the response.
// Key composition and every Cache-Status value run in process (test/unit/edge-app-cache.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestPhoto, testPhoto } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { type ClassifyResponse, ClassifyResponseSchema } from '../../shared/api/classify.ts';

const HIT = /^edge-results; hit; ttl=(\d+)$/;
const TTL_S = 300;

let worker: BootedWorker;
let photo: TestPhoto;

beforeAll(async () => {
  const models = await testModels();
  photo = await testPhoto();
  worker = await bootWorker({
    models: [models.b0],
    vars: { ALLOW_OPEN_API: '1', RESULT_CACHE_TTL_S: String(TTL_S) },
  });
});
afterAll(async () => {
  await worker?.dispose();
});

async function classify(query: string): Promise<{ status: string | null; body: ClassifyResponse }> {
  const response = await worker.fetch(`/v1/classify${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: photo.bytes,
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return {
    status: response.headers.get('cache-status'),
    body: ClassifyResponseSchema.parse(JSON.parse(text)),
  };
}

/** The store runs in waitUntil, after the response: poll until the entry is readable (bounded). */
async function untilHit(query: string): Promise<{ status: string | null; body: ClassifyResponse }> {
  for (let attempt = 0; ; attempt++) {
    const sent = await classify(query);
    if (HIT.test(sent.status ?? '') || attempt === 20) return sent;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('result cache in workerd', () => {
  it('a repeated image carries Cache-Status hit with the same predictions', async () => {
    const first = await classify('?tier=fast&top_k=5');
    expect(first.status).toBe('edge-results; fwd=uri-miss; stored');
    expect(first.body.timings_ms.inference).toBeGreaterThan(0);

    const second = await untilHit('?tier=fast&top_k=5');
    expect(second.status).toMatch(HIT);
    const ttl = Number(HIT.exec(second.status ?? '')?.[1]);
    expect(ttl).toBeGreaterThan(TTL_S - 60);
    expect(ttl).toBeLessThanOrEqual(TTL_S);
    expect(second.body.predictions).toEqual(first.body.predictions);
    expect(second.body).toMatchObject({ model: first.body.model, tier: 'fast', weights: first.body.weights });
    expect(second.body.request_id).not.toBe(first.body.request_id);
    expect(second.body.timings_ms).toMatchObject({ decode: 0, preprocess: 0, inference: 0 });
  });

  it('another top_k misses; cache=false bypasses and the entry stays', async () => {
    expect((await classify('?tier=fast&top_k=4')).status).toBe('edge-results; fwd=uri-miss; stored');
    expect((await classify('?tier=fast&top_k=5&cache=false')).status).toBe(
      'edge-results; fwd=bypass; detail=cache-false',
    );
    expect((await classify('?tier=fast&top_k=5')).status).toMatch(HIT);
  });
});
