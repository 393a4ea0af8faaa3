// POST /v1/classify and GET /v1/models in real workerd, on factory-built untrained B0 and split B1: the
// codecs, the ORT shim, sessions and R2, phone-sized photos, the measured latencies of the profiles
// deployed to R2 with the models, and the result cache. One Worker serves the whole file (a boot, ORT's
// compile and the model loads cost seconds each); a second one serves the pre-optimised models. The page, /healthz, /openapi.json and request ids run in process
// (test/unit/edge-app.test.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, pngHeaderOnly, type TestPhoto, testPhoto } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { preoptimizedTestModels, testModels } from '../../infra/models/cache.ts';
import { type ClassifyResponse, ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { type ModelInfo, ModelsResponseSchema } from '../../shared/api/models.ts';

// Scores are float64 softmax of float32 logits: the top-k sum may exceed 1 only by rounding.
const PROBABILITY_TOLERANCE = 1e-6;
/** Not the default (a day): a hit's ttl shows that the setting reached the Worker. */
const RESULT_CACHE_TTL_S = 300;
const WORKER_VARS = {
  DEBUG_ROUTES: '1',
  ALLOW_OPEN_API: '1',
  RESULT_CACHE_TTL_S: String(RESULT_CACHE_TTL_S),
};

let worker: BootedWorker;
let photo: TestPhoto;
let profilesDir: string;

const row = (variant: string, runtime: string, provider: string, resolution: number, p50: number | null) => ({
  variant,
  runtime,
  provider,
  resolution,
  p50_ms: p50,
  p95_ms: p50 === null ? null : p50 * 2,
  cold_ms: 1,
});

/** Profiles as `npm run profile` writes them, with a failed measurement and a resolution mismatch. */
async function writeProfiles(dir: string): Promise<{ edge: string; origin: string }> {
  const edge = join(dir, 'edge.json');
  const origin = join(dir, 'origin.json');
  await writeFile(
    edge,
    JSON.stringify({
      runtime: 'edge',
      provider: 'wasm',
      date: '2026-11-30T15:49:16.039Z',
      rows: [row('b0', 'edge', 'wasm', 224, 392.4), row('b1', 'edge', 'wasm', 240, 520.5)],
    }),
  );
  await writeFile(
    origin,
    JSON.stringify({
      runtime: 'origin',
      provider: 'cpu',
      date: '2026-11-30T15:39:27.012Z',
      rows: [
        row('b0', 'origin', 'cpu', 224, 10.7),
        row('b5', 'origin', 'cpu', 456, 3830.1),
        // A failed measurement.
        row('b6', 'origin', 'cpu', 528, null),
        // Measured at another resolution: not this catalog's B7, so not reported.
        row('b7', 'origin', 'cpu', 512, 100),
      ],
    }),
  );
  return { edge, origin };
}

beforeAll(async () => {
  profilesDir = await mkdtemp(join(tmpdir(), 'edge-profiles-'));
  const [models, shot, profiles] = await Promise.all([testModels(), testPhoto(), writeProfiles(profilesDir)]);
  photo = shot;
  worker = await bootWorker({
    models: [models.b0, models.b1Split],
    profiles: [
      { runtime: 'edge', file: profiles.edge },
      { runtime: 'origin', file: profiles.origin },
    ],
    vars: WORKER_VARS,
  });
});
afterAll(async () => {
  await worker?.dispose();
  if (profilesDir) await rm(profilesDir, { recursive: true, force: true });
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
    expect(byId['efficientnet-b0']).toMatchObject({
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

describe('GET /v1/models with deployed profiles', () => {
  it('reports each model measured on the runtime that serves it', async () => {
    const response = await worker.fetch('/v1/models');
    expect(response.status).toBe(200);
    const body = ModelsResponseSchema.parse(await response.json());
    const byId: Record<string, ModelInfo> = Object.fromEntries(body.models.map((m) => [m.id, m]));
    // B0 is in both profiles; it is served at the edge, so the edge's figures count.
    expect(byId['efficientnet-b0']?.latency).toEqual({
      runtime: 'edge',
      provider: 'wasm',
      p50_ms: 392.4,
      p95_ms: 784.8,
      measured_at: '2026-11-30T15:49:16.039Z',
    });
    expect(byId['efficientnet-b5']?.latency).toEqual({
      runtime: 'origin',
      provider: 'cpu',
      p50_ms: 3830.1,
      p95_ms: 7660.2,
      measured_at: '2026-11-30T15:39:27.012Z',
    });
    // A failed measurement, a resolution mismatch and an unprofiled model: no latency rather than a guess.
    for (const id of ['efficientnet-b6', 'efficientnet-b7', 'efficientnet-b2'])
      expect(byId[id], id).not.toHaveProperty('latency');
  });

  it('documents the field in the generated OpenAPI', async () => {
    const doc = (await (await worker.fetch('/openapi.json')).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const latency = JSON.stringify(doc.components.schemas.ModelInfo?.properties?.latency ?? null);
    for (const field of ['p50_ms', 'p95_ms', 'runtime', 'measured_at']) expect(latency).toContain(field);
  });
});

// Phone photos: 12 and 24 MP JPEGs with EXIF orientation 6 are answered from the edge on fast (B0) and
// balanced (B1), decoded at reduced scale; a PNG of the same size gets the PNG limit's 413. Untrained
// factory models: this checks the path, not the predictions.
async function phoneJpeg(width: number, height: number): Promise<Uint8Array<ArrayBuffer>> {
  const jpeg = await sharp(await generatedJpeg(width, height))
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toBuffer();
  return new Uint8Array(jpeg);
}

describe('phone photos at the edge', () => {
  it.each([
    ['12 MP', 4032, 3024, 'fast', 'efficientnet-b0'],
    ['24 MP', 6000, 4000, 'balanced', 'efficientnet-b1'],
  ] as const)('answers a %s JPEG (%ix%i) on %s from the edge', async (_, width, height, tier, model) => {
    const response = await postImage(`?tier=${tier}`, await phoneJpeg(width, height));
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const body = ClassifyResponseSchema.parse(JSON.parse(text));
    expect(body).toMatchObject({ model, tier });
  });

  it('refuses a 3000x2000 PNG on fast from its header, with the PNG limit in the message', async () => {
    const response = await postImage('?tier=fast', pngHeaderOnly(3000, 2000), {
      'content-type': 'image/png',
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('image_too_large');
    expect(body.error.message).toMatch(/PNG exceeds the 2\.0 MP PNG limit/);
  });
});

// latency_budget_ms on this Worker, which has no origin: the edge profile's p95s decide (B0 784.8 ms, B1
// 1041 ms). With an origin that is down: test/e2e/stack.test.ts; refusals: test/unit/edge-app-budget.test.ts.
describe('latency_budget_ms without an origin', () => {
  async function ok(query: string): Promise<ClassifyResponse> {
    const response = await postImage(query, photo.bytes);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return ClassifyResponseSchema.parse(JSON.parse(text));
  }

  it('600000 ms picks the most accurate model it can reach: B1 on the edge, and says why', async () => {
    const body = await ok('?latency_budget_ms=600000');
    expect(body.model).toBe('efficientnet-b1');
    expect(body.selection).toMatchObject({ budget_ms: 600000, expected_ms: 1041, budget_met: true });
    expect(body.selection?.reason).toContain('origin models not considered: ORIGIN_URL is not set');
    expect(body).not.toHaveProperty('degraded');
  });

  it('1 ms answers with the fastest edge model, B0, and budget_met false', async () => {
    const body = await ok('?latency_budget_ms=1');
    expect(body.model).toBe('efficientnet-b0');
    expect(body.selection).toMatchObject({ budget_ms: 1, expected_ms: 784.8, budget_met: false });
    expect(body.predictions.length).toBe(5);
  });

  it('with tier=auto the cascade stays and the budget is reported', async () => {
    const body = await ok('?tier=auto&latency_budget_ms=600000&min_confidence=1');
    // min_confidence=1 wants the origin, which is not configured: the edge answers, within the budget.
    expect(body.model).toBe('efficientnet-b0');
    expect(body.escalated).toBe(false);
    expect(body.selection?.budget_ms).toBe(600000);
    expect(body.selection?.reason).toContain('origin is unavailable');
    // Not escalating: what is expected is the edge answer already in hand, i.e. the time it took.
    expect(body.selection?.expected_ms).toBeLessThanOrEqual(body.timings_ms.total + 0.1);
    expect(body.selection?.budget_met).toBe(true);
  });
});

// The result cache (on by default) with the Workers Cache API as wrangler's local runtime provides it,
// weights checksums read from model.json in local R2, and waitUntil storing after the response. Key
// composition and every Cache-Status value run in process (test/unit/edge-app-cache.test.ts).
describe('result cache', () => {
  const HIT = /^edge-results; hit; ttl=(\d+)$/;
  /** An image no other test here sends: its first request must miss, whatever ran before. */
  let image: Uint8Array<ArrayBuffer>;
  beforeAll(async () => {
    image = await generatedJpeg(288, 216);
  });

  async function cached(query: string): Promise<{ status: string | null; body: ClassifyResponse }> {
    const response = await postImage(query, image);
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
      const sent = await cached(query);
      if (HIT.test(sent.status ?? '') || attempt === 20) return sent;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('a repeated image carries Cache-Status hit with the same predictions', async () => {
    const first = await cached('?tier=fast&top_k=5');
    expect(first.status).toBe('edge-results; fwd=uri-miss; stored');
    expect(first.body.timings_ms.inference).toBeGreaterThan(0);

    const second = await untilHit('?tier=fast&top_k=5');
    expect(second.status).toMatch(HIT);
    const ttl = Number(HIT.exec(second.status ?? '')?.[1]);
    expect(ttl).toBeGreaterThan(RESULT_CACHE_TTL_S - 60);
    expect(ttl).toBeLessThanOrEqual(RESULT_CACHE_TTL_S);
    expect(second.body.predictions).toEqual(first.body.predictions);
    expect(second.body).toMatchObject({ model: first.body.model, tier: 'fast', weights: first.body.weights });
    expect(second.body.request_id).not.toBe(first.body.request_id);
    expect(second.body.timings_ms).toMatchObject({ decode: 0, preprocess: 0, inference: 0 });
  });

  it('another top_k misses; cache=false bypasses and the entry stays', async () => {
    expect((await cached('?tier=fast&top_k=4')).status).toBe('edge-results; fwd=uri-miss; stored');
    expect((await cached('?tier=fast&top_k=5&cache=false')).status).toBe(
      'edge-results; fwd=bypass; detail=cache-false',
    );
    expect((await cached('?tier=fast&top_k=5')).status).toMatch(HIT);
  });
});

// The edge models as `npm start` deploys them (split, saved as onnxruntime optimised them, loaded with
// optimisation off), in a second Worker with the same settings: both tiers answer with the same
// predictions as this file's plain graphs, and B0 and B1 loaded together stay within the isolate's memory.
describe('pre-optimised edge models', () => {
  /** Scores are softmax of logits that agree within 1e-4 (test/unit/models-preoptimize.test.ts). */
  const OPTIMIZED_SCORE_TOLERANCE = 1e-4;
  /** Workers allow 128 MB per isolate; ORT's WASM heap must leave room for the JS heap and a decode. */
  const ISOLATE_BYTES = 128 * 1e6;
  let optimized: BootedWorker | undefined;
  afterAll(async () => {
    await optimized?.dispose();
  });

  /** cache=false: each answer is a model run of the Worker asked, never an answer it stored earlier. */
  async function classifyBoth(target: BootedWorker) {
    const out: Record<string, ClassifyResponse> = {};
    for (const tier of ['fast', 'balanced']) {
      const response = await target.fetch(`/v1/classify?tier=${tier}&top_k=5&cache=false`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: photo.bytes,
      });
      const text = await response.text();
      expect(response.status, text).toBe(200);
      out[tier] = ClassifyResponseSchema.parse(JSON.parse(text));
    }
    return out;
  }

  it('answer like the plain graphs, and B0 + B1 together fit the isolate', async () => {
    const models = await preoptimizedTestModels();
    optimized = await bootWorker({ models: [models.b0, models.b1Split], vars: WORKER_VARS });
    const expected = await classifyBoth(worker);
    const actual = await classifyBoth(optimized);
    for (const tier of ['fast', 'balanced']) {
      const want = expected[tier];
      const got = actual[tier];
      expect(got?.model).toBe(want?.model);
      expect(got?.predictions.map((p) => p.index)).toEqual(want?.predictions.map((p) => p.index));
      got?.predictions.forEach((p, i) => {
        expect(Math.abs(p.score - (want?.predictions[i]?.score ?? Number.NaN))).toBeLessThanOrEqual(
          OPTIMIZED_SCORE_TOLERANCE,
        );
      });
    }
    const debug = (await (await optimized.fetch('/_debug/inference')).json()) as DebugInference;
    expect(debug.sessions['efficientnet-b1']?.loaded).toBe(true);
    expect(debug.wasm_heap_bytes).toBeGreaterThan(16 * 2 ** 20);
    expect(debug.wasm_heap_bytes).toBeLessThan(ISOLATE_BYTES);
  });
});
