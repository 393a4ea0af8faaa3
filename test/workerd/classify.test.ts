// POST /v1/classify and GET /v1/models in real workerd, on factory-built untrained B0 and split B1: the
// codecs, the ORT shim, sessions and R2. The page, /healthz, /openapi.json and request ids run in process
// (test/unit/edge-app.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestPhoto, testPhoto } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { ModelsResponseSchema } from '../../shared/api/models.ts';

// Scores are float64 softmax of float32 logits: the top-k sum may exceed 1 only by rounding.
const PROBABILITY_TOLERANCE = 1e-6;

let worker: BootedWorker;
let photo: TestPhoto;

beforeAll(async () => {
  const models = await testModels();
  photo = await testPhoto();
  worker = await bootWorker({
    models: [models.b0, models.b1Split],
    vars: { DEBUG_ROUTES: '1', ALLOW_OPEN_API: '1' },
  });
});
afterAll(async () => {
  await worker?.dispose();
});

function postImage(
  query: string,
  body: Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return worker.fetch(`/v1/classify${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg', ...headers },
    body,
  });
}

interface DebugInference {
  ort_version: string;
  wasm_heap_bytes: number;
  sessions: Record<string, { inits: number; loaded: boolean }>;
}

async function debugInference(): Promise<DebugInference> {
  return (await (await worker.fetch('/_debug/inference')).json()) as DebugInference;
}

async function sessions(): Promise<DebugInference['sessions']> {
  return (await debugInference()).sessions;
}

describe('cold isolate', () => {
  // Runs first in the file: no model has been loaded in this isolate yet.
  it('answers concurrent first requests with a single session init', async () => {
    expect(await debugInference()).toMatchObject({ sessions: {}, wasm_heap_bytes: 0 });
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => postImage('?tier=fast', photo.bytes)),
    );
    for (const response of responses) expect(response.status).toBe(200);
    const after = await debugInference();
    expect(after.sessions['efficientnet-b0']).toEqual({ inits: 1, loaded: true });
    // The ORT shim really started ORT inside workerd: the version it checked and the heap it captured.
    expect(after.ort_version).toBe('1.30.0');
    expect(after.wasm_heap_bytes).toBeGreaterThan(16 * 2 ** 20);
  });
});

describe('POST /v1/classify', () => {
  it.each([
    ['fast', 'efficientnet-b0'],
    ['balanced', 'efficientnet-b1'],
  ])(`tier %s classifies a photo with untrained %s`, async (tier, model) => {
    const response = await postImage(`?tier=${tier}&top_k=7`, photo.bytes, {
      'x-request-id': `photo-${tier}`,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe(`photo-${tier}`);
    const body = ClassifyResponseSchema.parse(await response.json());
    expect(body).toMatchObject({ request_id: `photo-${tier}`, model, tier, weights: 'untrained' });
    expect(body.predictions).toHaveLength(7);
    const scores = body.predictions.map((p) => p.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(scores.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + PROBABILITY_TOLERANCE);
    for (const p of body.predictions) {
      expect(p.index).toBeGreaterThanOrEqual(0);
      expect(p.index).toBeLessThan(1000);
      expect(p.label.length).toBeGreaterThan(0);
    }
    expect(new Set(body.predictions.map((p) => p.index)).size).toBe(7);
    const t = body.timings_ms;
    expect(t.total).toBeGreaterThanOrEqual(t.decode + t.preprocess + t.inference - 1);
  });

  it('top_k=20 scores are probabilities whose running sum never exceeds 1', async () => {
    // The full 1000-way softmax summing to 1 is checked on real logits in test/unit/edge-predictions.test.ts.
    const response = await postImage('?model=efficientnet-b0&top_k=20', photo.bytes);
    const body = ClassifyResponseSchema.parse(await response.json());
    expect(body).toMatchObject({ model: 'efficientnet-b0', tier: 'auto' });
    expect(body.predictions).toHaveLength(20);
    let running = 0;
    for (const p of body.predictions) {
      expect(p.score).toBeGreaterThanOrEqual(0);
      running += p.score;
      expect(running).toBeLessThanOrEqual(1 + PROBABILITY_TOLERANCE);
    }
  });

  it('defaults top_k to 5 and is deterministic for the same image', async () => {
    const first = ClassifyResponseSchema.parse(await (await postImage('?tier=fast', photo.bytes)).json());
    const second = ClassifyResponseSchema.parse(await (await postImage('?tier=fast', photo.bytes)).json());
    expect(first.predictions).toHaveLength(5);
    expect(second.predictions).toEqual(first.predictions);
    expect(first.request_id).not.toBe(second.request_id);
  });

  it('accepts JSON with a base64 image and multipart/form-data, with the same result as a raw body', async () => {
    const raw = ClassifyResponseSchema.parse(
      await (await postImage('?tier=fast&top_k=3', photo.bytes)).json(),
    );
    const json = await worker.fetch('/v1/classify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: Buffer.from(photo.bytes).toString('base64'), tier: 'fast', top_k: 3 }),
    });
    expect(json.status).toBe(200);
    expect(ClassifyResponseSchema.parse(await json.json()).predictions).toEqual(raw.predictions);

    const form = new FormData();
    form.set('image', new Blob([photo.bytes], { type: 'image/jpeg' }), 'photo.jpg');
    form.set('top_k', '3');
    form.set('tier', 'fast');
    const multipart = await worker.fetch('/v1/classify', { method: 'POST', body: form });
    expect(multipart.status).toBe(200);
    expect(ClassifyResponseSchema.parse(await multipart.json()).predictions).toEqual(raw.predictions);
  });

  it.each(['accurate', 'max'])(
    'tier %s with allow_degraded=true and no origin answers from edge B1, marked degraded',
    async (tier) => {
      const response = await postImage(`?tier=${tier}&allow_degraded=true&top_k=3`, photo.bytes);
      expect(response.status).toBe(200);
      const body = ClassifyResponseSchema.parse(await response.json());
      expect(body).toMatchObject({
        model: 'efficientnet-b1',
        tier,
        degraded: true,
        degraded_reason: 'origin_not_configured',
      });
      expect(body.predictions).toHaveLength(3);
      // Same model, same image: the fallback answer equals what tier balanced answers.
      const balanced = ClassifyResponseSchema.parse(
        await (await postImage('?tier=balanced&top_k=3', photo.bytes)).json(),
      );
      expect(body.predictions).toEqual(balanced.predictions);
    },
  );

  it('loads B1 from its split files (graph + external data) once', async () => {
    expect((await sessions())['efficientnet-b1']).toEqual({ inits: 1, loaded: true });
  });
});

describe('read-only routes', () => {
  it('GET /v1/models reports placement, loaded state and the weights from model.json', async () => {
    const body = ModelsResponseSchema.parse(await (await worker.fetch('/v1/models')).json());
    const byId = Object.fromEntries(body.models.map((m) => [m.id, m]));
    expect(body.models).toHaveLength(8);
    expect(byId['efficientnet-b0']).toEqual({
      id: 'efficientnet-b0',
      resolution: 224,
      placement: 'edge',
      loaded: true,
      weights: 'untrained',
    });
    expect(byId['efficientnet-b1']).toMatchObject({
      placement: 'edge',
      loaded: true,
      weights: 'untrained',
      resolution: 240,
    });
    expect(byId['efficientnet-b7']).toMatchObject({ placement: 'origin', loaded: false, weights: 'unknown' });
  });
});
