// The edge app in process, through app.request(): every refusal of POST /v1/classify (envelope, status,
// message), authentication, the read-only routes and the OpenAPI document. Image headers are probed for
// real (pure TypeScript); decoding and inference are the only fakes: the WASM codecs and onnxruntime-web
// run in test/workerd. The fake model scores fixed logits with the real top-k, so the answer path is real.
import { Hono } from 'hono';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createEdgeApp } from '../../edge/app.ts';
import type { KeyStore } from '../../edge/auth/api-key.ts';
import { topPredictions } from '../../edge/classify/predictions.ts';
import type { AppEnv } from '../../edge/http/app-env.ts';
import { generatedJpeg, pngHeaderOnly } from '../../infra/bench/images.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { type ErrorCode, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { type FakeCompute, fakeCompute } from '../support/fake-compute.ts';

const KEY = 'test-key-1';
const KV_KEY = 'kv-key-7';
const MAX_BODY = 300_000;
const MAX_PIXELS = 1_000_000;
const AUTH = { authorization: `Bearer ${KEY}` };

/** Fixed logits: class 3 leads with a softmax probability of about 0.35. */
const LOGITS = Float32Array.from({ length: 1000 }, (_, i) => (i === 3 ? 6 : i % 7 === 0 ? 1 : 0));

/** The edge's compute with B0 "deployed" and B1 not, like the workerd error suite's bucket. */
const newCompute = () =>
  fakeCompute({
    logits: LOGITS,
    weightsOf: async (_env, model) => (model === 'efficientnet-b0' ? 'untrained' : undefined),
  });

const keyStore: KeyStore = { get: async (key) => (key === KV_KEY ? '1' : null) };
const ENV = {
  API_KEYS: `other-key, ${KEY}`,
  API_KEYS_KV: keyStore,
  MAX_BODY_BYTES: String(MAX_BODY),
  MAX_IMAGE_PIXELS: String(MAX_PIXELS),
};

let compute: FakeCompute;
let app: ReturnType<typeof createEdgeApp>;
let jpeg: Uint8Array<ArrayBuffer>;
let big: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  compute = newCompute();
  app = createEdgeApp(compute);
  jpeg = await generatedJpeg(320, 240);
  // 1.2 MP that no DCT reduction can shrink (600 px at 6/8 is 450 < 544): over the 1 MP edge limit.
  big = await generatedJpeg(2000, 600);
});

function fetchApp(path: string, init: RequestInit = {}, env: object = ENV): Promise<Response> {
  return Promise.resolve(app.request(path, init, env));
}

async function expectError(
  response: Response,
  status: number,
  code: ErrorCode,
  message?: RegExp,
): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = ErrorEnvelopeSchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  if (message) expect(body.error.message).toMatch(message);
}

function classify(query: string, init: RequestInit & { headers?: Record<string, string> }) {
  return fetchApp(`/v1/classify${query}`, { method: 'POST', ...init, headers: { ...AUTH, ...init.headers } });
}
const asJpeg = (body: RequestInit['body'], query = '?tier=fast') =>
  classify(query, { headers: { 'content-type': 'image/jpeg' }, body });

describe('authentication', () => {
  it('401 without a key, with a wrong key; OK with a secret key or a KV key; public paths stay open', async () => {
    await expectError(await fetchApp('/v1/models'), 401, 'unauthorized', /Missing API key/);
    await expectError(
      await fetchApp('/v1/models', { headers: { authorization: 'Bearer nope' } }),
      401,
      'unauthorized',
      /Invalid/,
    );
    expect((await fetchApp('/v1/models', { headers: AUTH })).status).toBe(200);
    expect((await fetchApp('/v1/models', { headers: { authorization: `Bearer ${KV_KEY}` } })).status).toBe(
      200,
    );
    expect((await fetchApp('/healthz')).status).toBe(200);
    expect((await fetchApp('/openapi.json')).status).toBe(200);
    expect((await fetchApp('/')).status).toBe(200);
  });

  it('401 for a token over the length limit or outside the bearer charset', async () => {
    for (const token of ['k'.repeat(257), 'bad,token', 'tök']) {
      await expectError(
        await fetchApp('/v1/models', { headers: { authorization: `Bearer ${token}` } }),
        401,
        'unauthorized',
      );
    }
  });
});

describe('media type and image content (415 / 422)', () => {
  it('415 for a Content-Type that is not accepted, and for a missing one', async () => {
    await expectError(
      await classify('', { headers: { 'content-type': 'text/plain' }, body: 'hello' }),
      415,
      'unsupported_media_type',
      /text\/plain/,
    );
    await expectError(
      await classify('', { headers: { 'content-type': 'image/gif' }, body: jpeg }),
      415,
      'unsupported_media_type',
    );
    await expectError(await classify('', { body: new Uint8Array([1, 2, 3]) }), 415, 'unsupported_media_type');
  });

  it('415 when the bytes are not a JPEG, PNG or WebP, whatever the Content-Type says', async () => {
    const gif = new TextEncoder().encode('GIF89a\u0001\u0000\u0001\u0000\u0000\u0000\u0000;');
    await expectError(await asJpeg(gif), 415, 'unsupported_media_type');
  });

  it('422 for a malformed JPEG and for one truncated inside its headers, before decoding', async () => {
    const before = compute.decoded.length;
    const garbage = new Uint8Array(2000).fill(0x41);
    garbage.set([0xff, 0xd8, 0xff, 0xe0]);
    await expectError(await asJpeg(garbage), 422, 'invalid_image');
    // Cut before the frame header: no dimensions can be read.
    const sofAt = Buffer.from(jpeg).indexOf(Buffer.from([0xff, 0xc0]));
    expect(sofAt).toBeGreaterThan(20);
    await expectError(await asJpeg(jpeg.slice(0, sofAt + 4)), 422, 'invalid_image');
    expect(compute.decoded.length).toBe(before);
  });

  it('400 for an empty body', async () => {
    await expectError(await asJpeg(new Uint8Array(0)), 400, 'invalid_request', /no image/);
  });
});

describe('parameters (400)', () => {
  it.each(['top_k=0', 'top_k=21', 'top_k=x', 'top_k=1.5', 'tier=turbo', 'model=resnet-50', 'colour=red'])(
    '%s',
    async (query) => {
      await expectError(
        await asJpeg(jpeg, `?${query}`),
        400,
        'invalid_parameter',
        new RegExp(query.split('=')[0] ?? ''),
      );
    },
  );

  it('malformed JSON, JSON without an image, invalid base64, and parameters in two places', async () => {
    const json = (body: string, query = '') =>
      classify(query, { headers: { 'content-type': 'application/json' }, body });
    await expectError(await json('{"image": '), 400, 'invalid_request');
    await expectError(await json('{"tier":"fast"}'), 400, 'invalid_request', /image/);
    await expectError(
      await json('{"image":"***not base64***","tier":"fast"}'),
      400,
      'invalid_request',
      /base64/,
    );
    await expectError(await json('{"image":"AAAA","top_k":0}'), 400, 'invalid_parameter', /top_k/);
    const image = Buffer.from(jpeg).toString('base64');
    await expectError(
      await json(JSON.stringify({ image, tier: 'fast' }), '?top_k=3'),
      400,
      'invalid_request',
      /not both/,
    );
  });

  it('multipart without an image field', async () => {
    const form = new FormData();
    form.set('tier', 'fast');
    await expectError(await classify('', { body: form }), 400, 'invalid_request', /image/);
  });
});

describe('limits (413)', () => {
  it('refuses a declared Content-Length over the limit before reading', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(MAX_BODY + 1));
        controller.close();
      },
    });
    await expectError(
      await classify('?tier=fast', {
        headers: { 'content-type': 'image/jpeg', 'content-length': String(MAX_BODY + 1) },
        body,
        duplex: 'half',
      } as RequestInit & { headers: Record<string, string> }),
      413,
      'payload_too_large',
      new RegExp(String(MAX_BODY)),
    );
    // A ReadableStream pulls its first chunk when it is built, never more without a reader.
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('counts a streamed body without Content-Length', async () => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= MAX_BODY * 3) return controller.close();
        sent += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const response = await classify('?tier=fast', {
      headers: { 'content-type': 'image/jpeg' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { headers: Record<string, string> });
    await expectError(response, 413, 'payload_too_large');
  });

  it('refuses too many pixels from the header, before decoding', async () => {
    const before = compute.decoded.length;
    await expectError(
      await classify('?tier=fast', {
        headers: { 'content-type': 'image/png' },
        body: pngHeaderOnly(20_000, 20_000),
      }),
      413,
      'image_too_large',
    );
    expect(big.length).toBeLessThan(MAX_BODY);
    await expectError(await asJpeg(big), 413, 'image_too_large', /pixels/);
    expect(compute.decoded.length).toBe(before);
  });
});

describe('origin tiers without ORIGIN_URL (503 / degraded)', () => {
  it.each(['accurate', 'max'])('tier %s: 503 origin_unavailable with Retry-After', async (tier) => {
    const response = await asJpeg(jpeg, `?tier=${tier}`);
    expect(response.headers.get('retry-after')).toBe('5');
    await expectError(response, 503, 'origin_unavailable', /not configured.*ORIGIN_URL/);
  });

  it('an origin-placed model the same way', async () => {
    const response = await asJpeg(jpeg, '?model=efficientnet-b5');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(response, 503, 'origin_unavailable', /efficientnet-b5/);
  });

  it('tier auto answers from edge B0, marked degraded', async () => {
    // min_confidence=1 makes any real score escalate, so the missing origin is always noticed.
    for (const query of ['?tier=auto&min_confidence=1', '?min_confidence=1']) {
      const response = await asJpeg(jpeg, query);
      const body = ClassifyResponseSchema.parse(await response.json());
      expect(response.status).toBe(200);
      expect(body).toMatchObject({
        model: 'efficientnet-b0',
        tier: 'auto',
        degraded: true,
        degraded_reason: 'origin_not_configured',
      });
      expect(body.escalated).toBeUndefined();
      expect(body.predictions).toEqual(topPredictions(LOGITS, 5));
    }
  });

  it('tier auto with min_confidence=0 answers from the edge without trying the origin', async () => {
    const body = ClassifyResponseSchema.parse(
      await (await asJpeg(jpeg, '?tier=auto&min_confidence=0')).json(),
    );
    expect(body).toMatchObject({ model: 'efficientnet-b0', escalated: false });
    expect(body.degraded).toBeUndefined();
  });

  it('an image over the edge pixel budget: 413 for fast with a hint, 503 for auto (origin-only)', async () => {
    const runs = compute.runs.length;
    await expectError(await asJpeg(big, '?tier=fast'), 413, 'image_too_large', /tier auto or accurate/);
    const response = await asJpeg(big, '?tier=auto');
    expect(response.headers.get('retry-after')).toBe('5');
    await expectError(response, 503, 'origin_unavailable', /2000x600.*pixel budget/);
    expect(compute.runs.length).toBe(runs);
  });
});

describe('answers and read-only routes', () => {
  it("decodes for the model that runs: a JPEG keeps twice that model's resize target (B0 512, B1 544)", async () => {
    const cases = [
      ['?tier=fast', 'efficientnet-b0', 512],
      ['?tier=balanced', 'efficientnet-b1', 544],
      ['?model=efficientnet-b1', 'efficientnet-b1', 544],
      ['?tier=auto&min_confidence=0', 'efficientnet-b0', 512],
    ] as const;
    for (const [query, model, minSide] of cases) {
      const response = await asJpeg(jpeg, query);
      expect(response.status, await response.clone().text()).toBe(200);
      expect(ClassifyResponseSchema.parse(await response.json()).model).toBe(model);
      expect(compute.decodeMinSides.at(-1)).toBe(minSide);
      expect(compute.runs.at(-1)).toBe(model);
    }
  });

  it('the JSON, multipart and raw forms reach the model with the same parameters', async () => {
    const raw = ClassifyResponseSchema.parse(await (await asJpeg(jpeg, '?tier=fast&top_k=3')).json());
    expect(raw).toMatchObject({ model: 'efficientnet-b0', tier: 'fast', weights: 'untrained' });
    expect(raw.predictions).toEqual(topPredictions(LOGITS, 3));
    const json = await classify('', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: Buffer.from(jpeg).toString('base64'), tier: 'fast', top_k: 3 }),
    });
    expect(ClassifyResponseSchema.parse(await json.json()).predictions).toEqual(raw.predictions);
    const form = new FormData();
    form.set('image', new Blob([jpeg], { type: 'image/jpeg' }), 'photo.jpg');
    form.set('top_k', '3');
    form.set('tier', 'balanced');
    const multipart = ClassifyResponseSchema.parse(await (await classify('', { body: form })).json());
    expect(multipart).toMatchObject({ model: 'efficientnet-b1', tier: 'balanced' });
    expect(multipart.predictions).toHaveLength(3);
  });

  it('echoes a usable x-request-id and replaces an unusable one', async () => {
    const response = await asJpeg(jpeg, '?tier=fast');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await classify('?tier=fast', {
      headers: { 'content-type': 'image/jpeg', 'x-request-id': 'photo-fast' },
      body: jpeg,
    });
    expect(given.headers.get('x-request-id')).toBe('photo-fast');
    expect(ClassifyResponseSchema.parse(await given.json()).request_id).toBe('photo-fast');
    const bad = await fetchApp('/healthz', { headers: { 'x-request-id': 'bad id with spaces\u00e9' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /v1/models lists the catalog with placement, loaded state and weights', async () => {
    const body = (await (await fetchApp('/v1/models', { headers: AUTH })).json()) as {
      models: { id: string; placement: string; loaded: boolean; weights: string }[];
    };
    const byId = Object.fromEntries(body.models.map((m) => [m.id, m]));
    expect(body.models).toHaveLength(8);
    expect(byId['efficientnet-b0']).toMatchObject({ placement: 'edge', loaded: true, weights: 'untrained' });
    expect(byId['efficientnet-b7']).toMatchObject({ placement: 'origin', loaded: false, weights: 'unknown' });
  });

  it('GET / serves the playground page as HTML', async () => {
    const response = await fetchApp('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('id="drop"');
    expect(html).toContain('<input id="api-key"');
    expect(html).toContain('/v1/classify');
  });

  it('GET /healthz and GET /openapi.json', async () => {
    const health = await fetchApp('/healthz');
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const doc = (await (await fetchApp('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz',
      '/v1/classify',
      '/v1/classify/batch',
      '/v1/models',
    ]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['ClassifyResponse', 'ErrorEnvelope', 'ClassifyJsonBody', 'ModelsResponse']),
    );
  });

  it('says once that the API is open when no keys are configured', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const open = createEdgeApp(newCompute());
      const env = { ALLOW_OPEN_API: '1' };
      for (let i = 0; i < 3; i++) expect((await open.request('/v1/models', {}, env)).status).toBe(200);
      const warnings = warn.mock.calls.filter((call) =>
        String(call[0]).includes('the API is open to anyone'),
      );
      expect(warnings).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('other paths', () => {
  it('404 envelope for an unknown route, 405 for the wrong method', async () => {
    await expectError(await fetchApp('/v2/nothing', { headers: AUTH }), 404, 'not_found');
    await expectError(await fetchApp('/v1/classify', { headers: AUTH }), 405, 'method_not_allowed', /POST/);
  });

  it('debug routes are off unless DEBUG_ROUTES=1', async () => {
    const debugRoutes = new Hono<AppEnv>();
    debugRoutes.get('/inference', (c) => c.json({ sessions: {} }));
    const withDebug = createEdgeApp({ ...newCompute(), debugRoutes });
    const off = await withDebug.request('/_debug/inference', { headers: AUTH }, ENV);
    await expectError(off, 404, 'not_found');
    const on = await withDebug.request('/_debug/inference', { headers: AUTH }, { ...ENV, DEBUG_ROUTES: '1' });
    expect(on.status).toBe(200);
    expect(await on.json()).toEqual({ sessions: {} });
  });
});
