// The edge result cache in process, through app.request(): the key (changing any part of it misses),
// every Cache-Status value, cache=false, RESULT_CACHE_TTL_S=0 and expiry, and what is never stored.
// Node has no Cache API, so the store is edge/cache's in-memory one (same max-age rule); the stores run
// through a real waitUntil that the test awaits. test/workerd/classify.test.ts runs the Workers cache.
import type { ExecutionContext } from 'hono';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEdgeApp } from '../../edge/app.ts';
import { PREPROCESS_VERSION, resultCacheKey } from '../../edge/cache/key.ts';
import { notStorable } from '../../edge/cache/result-cache.ts';
import { imageResultCache, type ResultCacheDeps } from '../../edge/cache/session.ts';
import { cacheStatus } from '../../edge/cache/status.ts';
import { MemoryResultStore } from '../../edge/cache/store.ts';
import { topPredictions } from '../../edge/classify/predictions.ts';
import { generatedJpeg } from '../../infra/bench/images.ts';
import { type ClassifyResponse, ClassifyResponseSchema } from '../../shared/api/classify.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import type { Plan } from '../../shared/policy/escalation.ts';
import { type FakeCompute, fakeCompute } from '../support/fake-compute.ts';

const KEY = 'cache-test-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const TTL_S = 600;
const ENV = { API_KEYS: KEY, RESULT_CACHE_TTL_S: String(TTL_S) };
/** Fixed logits: class 3 leads with a softmax probability of about 0.35 (below auto's default 0.5). */
const LOGITS = Float32Array.from({ length: 1000 }, (_, i) => (i === 3 ? 6 : i % 7 === 0 ? 1 : 0));

const MISS_STORED = 'edge-results; fwd=uri-miss; stored';
const HIT = /^edge-results; hit; ttl=(\d+)$/;

let compute: FakeCompute;
let store: MemoryResultStore;
let checksums: Partial<Record<ModelId, string>>;
let app: ReturnType<typeof createEdgeApp>;
let jpeg: Uint8Array<ArrayBuffer>;
let other: Uint8Array<ArrayBuffer>;

beforeEach(async () => {
  // The clock of the store and of the ttl arithmetic; nothing else is faked.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_000_000);
  store = new MemoryResultStore();
  checksums = { 'efficientnet-b0': 'a'.repeat(64), 'efficientnet-b1': 'b'.repeat(64) };
  compute = fakeCompute({
    logits: LOGITS,
    preprocessMs: 1,
    resultCache: { store: () => store, checksumOf: async (_env, model: ModelId) => checksums[model] },
  });
  app = createEdgeApp(compute);
  jpeg ??= await generatedJpeg(320, 240);
  other ??= await generatedJpeg(320, 241);
});

afterEach(() => {
  vi.useRealTimers();
});

const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

interface Sent {
  response: Response;
  status: string | null;
  body: ClassifyResponse;
}

/** POSTs and waits for everything the request handed to waitUntil, as the Workers runtime would. */
async function send(query: string, init: RequestInit, env: object = ENV): Promise<Response> {
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (promise: Promise<unknown>) => pending.push(promise),
    passThroughOnException: () => {},
    props: {},
  } as ExecutionContext;
  const response = await app.request(`/v1/classify${query}`, { method: 'POST', ...init }, env, ctx);
  await Promise.all(pending);
  return response;
}

async function classify(query: string, image = jpeg, env: object = ENV): Promise<Sent> {
  const response = await send(
    query,
    { headers: { ...AUTH, 'content-type': 'image/jpeg' }, body: image },
    env,
  );
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return {
    response,
    status: response.headers.get('cache-status'),
    body: ClassifyResponseSchema.parse(JSON.parse(text)),
  };
}

describe('hit and miss', () => {
  it('a repeated image is a hit with the same answer, its own request_id, and no model run', async () => {
    const first = await classify('?tier=fast&top_k=3');
    expect(first.status).toBe(MISS_STORED);
    expect(compute.runs).toEqual(['efficientnet-b0']);
    expect(store.size).toBe(1);

    advance(100_000);
    const second = await classify('?tier=fast&top_k=3');
    expect(second.status).toMatch(HIT);
    // 600 s stored, 100 s passed.
    expect(Number(HIT.exec(second.status ?? '')?.[1])).toBe(TTL_S - 100);
    expect(compute.runs).toEqual(['efficientnet-b0']);
    const { request_id: id1, timings_ms: t1, ...answer1 } = first.body;
    const { request_id: id2, timings_ms: t2, ...answer2 } = second.body;
    expect(answer2).toEqual(answer1);
    expect(answer2.predictions).toEqual(topPredictions(LOGITS, 3));
    expect(id2).not.toBe(id1);
    expect(id2).toBe(second.response.headers.get('x-request-id'));
    // No decode, preprocessing or inference ran for the hit; its total is this request's own time.
    expect(t1.preprocess).toBe(1);
    expect(t2).toMatchObject({ decode: 0, preprocess: 0, inference: 0 });
    expect(t2.total).toBeGreaterThanOrEqual(0);
  });

  it('the JSON and multipart forms share entries with the raw form (the key is the image bytes)', async () => {
    expect((await classify('?tier=fast')).status).toBe(MISS_STORED);
    const json = await send('', {
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ image: Buffer.from(jpeg).toString('base64'), tier: 'fast' }),
    });
    expect(json.headers.get('cache-status')).toMatch(HIT);
    const form = new FormData();
    form.set('image', new File([jpeg], 'a.jpg', { type: 'image/jpeg' }));
    form.set('tier', 'fast');
    const multipart = await send('', { headers: AUTH, body: form });
    expect(multipart.headers.get('cache-status')).toMatch(HIT);
    expect(compute.runs).toHaveLength(1);
  });

  it('an entry expires after RESULT_CACHE_TTL_S', async () => {
    await classify('?tier=fast');
    advance(TTL_S * 1000);
    expect((await classify('?tier=fast')).status).toBe(MISS_STORED);
    expect(compute.runs).toHaveLength(2);
  });
});

describe('key composition: changing any part misses', () => {
  it.each([
    ['another image', '?tier=fast', true],
    ['top_k', '?tier=fast&top_k=4', false],
    ['tier (another model)', '?tier=balanced', false],
    ['the same model by explicit id (tier auto)', '?model=efficientnet-b0', false],
    ['tier auto', '?tier=auto&min_confidence=0', false],
  ])('%s', async (_name, query, otherImage) => {
    expect((await classify('?tier=fast')).status).toBe(MISS_STORED);
    expect((await classify(query, otherImage ? other : jpeg)).status).toBe(MISS_STORED);
    expect(compute.runs).toHaveLength(2);
  });

  it('min_confidence of tier auto', async () => {
    expect((await classify('?tier=auto&min_confidence=0')).status).toBe(MISS_STORED);
    expect((await classify('?tier=auto&min_confidence=0.1')).status).toBe(MISS_STORED);
    expect((await classify('?tier=auto&min_confidence=0.1')).status).toMatch(HIT);
  });

  it("the model's weights checksum", async () => {
    await classify('?tier=fast');
    checksums['efficientnet-b0'] = 'c'.repeat(64);
    expect((await classify('?tier=fast')).status).toBe(MISS_STORED);
    expect((await classify('?tier=fast')).status).toMatch(HIT);
  });

  it('the preprocessing version (and every other part), in the key itself', async () => {
    const plan: Plan = {
      kind: 'edge-then-origin',
      tier: 'auto',
      edgeModel: 'efficientnet-b0',
      originModel: 'efficientnet-b5',
      minConfidence: 0.5,
    };
    const base = {
      imageSha256: '0'.repeat(64),
      plan,
      topK: 5,
      checksums: { 'efficientnet-b0': 'a'.repeat(64), 'efficientnet-b5': 'b'.repeat(64) },
    };
    const key = await resultCacheKey(base);
    expect(key).toMatch(/^https:\/\/result-cache\.invalid\/v1\/[0-9a-f]{64}$/);
    expect(await resultCacheKey({ ...base, preprocessVersion: PREPROCESS_VERSION })).toBe(key);
    const variants = [
      { ...base, preprocessVersion: PREPROCESS_VERSION + 1 },
      { ...base, imageSha256: '1'.repeat(64) },
      { ...base, topK: 6 },
      { ...base, plan: { ...plan, minConfidence: 0.6 } },
      { ...base, plan: { ...plan, originModel: 'efficientnet-b7' as const } },
      { ...base, checksums: { ...base.checksums, 'efficientnet-b5': 'c'.repeat(64) } },
      { ...base, checksums: { 'efficientnet-b0': 'a'.repeat(64) } },
      {
        ...base,
        plan: { kind: 'edge' as const, tier: 'auto' as const, edgeModel: 'efficientnet-b0' as const },
      },
    ];
    const keys = await Promise.all(variants.map((parts) => resultCacheKey(parts)));
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  it('allow_degraded and cache=true are not part of the key', async () => {
    await classify('?tier=fast');
    expect((await classify('?tier=fast&allow_degraded=true&cache=true')).status).toMatch(HIT);
  });
});

describe('bypass and not stored', () => {
  it('cache=false neither reads nor stores, in the query and in a JSON body', async () => {
    await classify('?tier=fast');
    expect((await classify('?tier=fast&cache=false')).status).toBe(
      'edge-results; fwd=bypass; detail=cache-false',
    );
    const json = await send('', {
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ image: Buffer.from(other).toString('base64'), tier: 'fast', cache: false }),
    });
    expect(json.status).toBe(200);
    expect(json.headers.get('cache-status')).toBe('edge-results; fwd=bypass; detail=cache-false');
    expect(store.size).toBe(1);
    expect(compute.runs).toHaveLength(3);
  });

  it('RESULT_CACHE_TTL_S=0 turns the cache off', async () => {
    const off = { ...ENV, RESULT_CACHE_TTL_S: '0' };
    expect((await classify('?tier=fast', jpeg, off)).status).toBe(
      'edge-results; fwd=bypass; detail=disabled',
    );
    expect((await classify('?tier=fast', jpeg, off)).status).toBe(
      'edge-results; fwd=bypass; detail=disabled',
    );
    expect(store.size).toBe(0);
    expect(compute.runs).toHaveLength(2);
  });

  it('degraded answers are not stored', async () => {
    // No ORIGIN_URL: tier auto below min_confidence answers from the edge, degraded.
    for (let i = 0; i < 2; i++) {
      const sent = await classify('?tier=auto');
      expect(sent.body.degraded).toBe(true);
      expect(sent.status).toBe('edge-results; fwd=uri-miss; stored=?0; detail=degraded');
    }
    expect(store.size).toBe(0);
  });

  it('latency_budget_ms requests bypass the cache (their answer depends on timing)', async () => {
    await classify('?tier=fast');
    const sent = await classify('?tier=auto&latency_budget_ms=60000&min_confidence=0');
    expect(sent.status).toBe('edge-results; fwd=bypass; detail=latency-budget');
    expect(store.size).toBe(1);
  });

  it('an answer from a model without a known weights checksum is not stored', async () => {
    delete checksums['efficientnet-b1'];
    for (let i = 0; i < 2; i++)
      expect((await classify('?tier=balanced')).status).toBe(
        'edge-results; fwd=uri-miss; stored=?0; detail=no-checksum',
      );
    expect(store.size).toBe(0);
    // The edge answered tier auto: the origin model's unknown checksum does not matter to that answer.
    expect((await classify('?tier=auto&min_confidence=0')).status).toBe(MISS_STORED);
  });

  it('notStorable: escalated answers need both checksums; budget-chosen answers are never stored', () => {
    const answer: ClassifyResponse = {
      request_id: 'r',
      model: 'efficientnet-b5',
      tier: 'auto',
      weights: 'untrained',
      predictions: [],
      timings_ms: { decode: 0, preprocess: 0, inference: 0, total: 0 },
      escalated: true,
      edge: { model: 'efficientnet-b0', top1_score: 0.2 },
    };
    const both = { 'efficientnet-b0': 'a', 'efficientnet-b5': 'b' };
    expect(notStorable(answer, both)).toBeUndefined();
    expect(notStorable(answer, { 'efficientnet-b5': 'b' })).toBe('no-checksum');
    expect(notStorable(answer, { 'efficientnet-b0': 'a' })).toBe('no-checksum');
    const selection = { budget_ms: 1, expected_ms: 1, budget_met: true, reason: 'r' };
    expect(notStorable({ ...answer, selection }, both)).toBe('latency-budget');
  });

  it('without a Cache API the cache is bypassed', async () => {
    app = createEdgeApp(fakeCompute({ logits: LOGITS }));
    expect((await classify('?tier=fast')).status).toBe('edge-results; fwd=bypass; detail=unavailable');
  });
});

describe('per-image seam and store failures', () => {
  it('imageResultCache works without an HTTP context (as a batch calls it per image)', async () => {
    const deps: ResultCacheDeps = { store: () => store, checksumOf: async (_env, model) => checksums[model] };
    const plan: Plan = { kind: 'edge', tier: 'fast', edgeModel: 'efficientnet-b0' };
    const request = { bytes: jpeg, plan, topK: 5, cache: undefined, budgeted: false, ttlS: TTL_S };
    const stores: Promise<void>[] = [];
    const first = await imageResultCache({}, deps, request, (work) => stores.push(work));
    expect(first.hit).toBeUndefined();
    const answer: ClassifyResponse = {
      request_id: 'r1',
      model: 'efficientnet-b0',
      tier: 'fast',
      weights: 'untrained',
      predictions: topPredictions(LOGITS, 5),
      timings_ms: { decode: 1, preprocess: 1, inference: 1, total: 3 },
    };
    first.keep(answer);
    expect(cacheStatus(first.outcome())).toBe(MISS_STORED);
    await Promise.all(stores);
    const second = await imageResultCache({}, deps, request, () => {});
    expect(cacheStatus(second.outcome())).toMatch(HIT);
    const again = second.answer({ requestId: 'r2', topK: 5, started: performance.now() });
    expect(again).toMatchObject({
      request_id: 'r2',
      model: 'efficientnet-b0',
      predictions: answer.predictions,
    });
  });

  it('a failing store is a miss, logged, and the request is still answered', async () => {
    const failing = {
      match: async () => {
        throw new Error('cache down');
      },
      put: async () => {
        throw new Error('cache down');
      },
    };
    app = createEdgeApp(
      fakeCompute({
        logits: LOGITS,
        resultCache: { store: () => failing, checksumOf: async () => 'a'.repeat(64) },
      }),
    );
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      const sent = await classify('?tier=fast');
      expect(sent.status).toBe(MISS_STORED);
      expect(sent.body.predictions).toEqual(topPredictions(LOGITS, 5));
    } finally {
      console.error = original;
    }
    expect(errors.map((line) => JSON.parse(line).operation)).toEqual(['match', 'put']);
    expect(JSON.parse(errors[0] ?? '{}').request_id).toMatch(/./);
  });
});

describe('OpenAPI', () => {
  it('documents the cache parameter and the Cache-Status header of POST /v1/classify', async () => {
    const doc = (await (await app.request('/openapi.json', {}, ENV)).json()) as {
      paths: Record<string, { post: { parameters: { name: string }[]; responses: Record<string, unknown> } }>;
    };
    const post = doc.paths['/v1/classify']?.post;
    expect(post?.parameters.map((p) => p.name)).toContain('cache');
    expect(JSON.stringify(post?.responses['200'])).toContain('"Cache-Status"');
  });
});

describe('Cache-Status on errors', () => {
  it('an error after the lookup is a miss not stored; a refusal before it carries no Cache-Status', async () => {
    const unavailable = await send('?tier=accurate', {
      headers: { ...AUTH, 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('cache-status')).toBe('edge-results; fwd=uri-miss; stored=?0');
    const invalid = await send('?top_k=0', {
      headers: { ...AUTH, 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('cache-status')).toBeNull();
    expect(store.size).toBe(0);
  });

  it('cacheStatus writes RFC 9211 members: a token name, hit/ttl or fwd, stored as a boolean', () => {
    expect(cacheStatus({ kind: 'hit', ttlS: 12.7 })).toBe('edge-results; hit; ttl=12');
    expect(cacheStatus({ kind: 'miss', stored: true })).toBe('edge-results; fwd=uri-miss; stored');
    expect(cacheStatus({ kind: 'miss', stored: false, detail: 'degraded' })).toBe(
      'edge-results; fwd=uri-miss; stored=?0; detail=degraded',
    );
    expect(cacheStatus({ kind: 'bypass', detail: 'disabled' })).toBe(
      'edge-results; fwd=bypass; detail=disabled',
    );
  });
});
