// POST /v1/classify/batch in process, through app.request(): envelopes, limits, order and per-image
// errors. Image headers are probed for real; decoding and inference are injected (as in
// edge-app.test.ts), with a fake model whose top-1 probability each test can set, so escalation is under
// the test's control. No ORIGIN_URL here: the per-image failure policy answers for the origin (degrade
// for auto, 503 for accurate). Several images reaching a real origin in one call: test/e2e/stack.test.ts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEdgeApp } from '../../edge/app.ts';
import { topPredictions } from '../../edge/classify/predictions.ts';
import { generatedJpeg, pngHeaderOnly } from '../../infra/bench/images.ts';
import {
  type BatchError,
  type BatchResponse,
  BatchResponseSchema,
  type ClassifyResponse,
  ClassifyResponseSchema,
  isBatchError,
  MAX_BATCH_IMAGES,
} from '../../shared/api/classify.ts';
import { type ErrorCode, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { type FakeCompute, fakeCompute } from '../support/fake-compute.ts';

const KEY = 'batch-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const ENV = {
  API_KEYS: KEY,
  MAX_BODY_BYTES: '300000',
  MAX_IMAGE_PIXELS: '1000000',
  BATCH_MAX_BYTES: '400000',
  BATCH_MAX_PIXELS: '3000000',
};

/** Fixed logits: class 3 leads with a softmax probability of about 0.35. */
const LOGITS = Float32Array.from({ length: 1000 }, (_, i) => (i === 3 ? 6 : i % 7 === 0 ? 1 : 0));
const TOP1 = topPredictions(LOGITS, 1)[0]?.score ?? Number.NaN;

let compute: FakeCompute;
let app: ReturnType<typeof createEdgeApp>;
/** Distinct sizes, so the order of the decodes shows the order of the images. */
let jpegs: Uint8Array<ArrayBuffer>[];
let big: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  compute = fakeCompute({ logits: LOGITS });
  app = createEdgeApp(compute);
  jpegs = await Promise.all([generatedJpeg(320, 240), generatedJpeg(200, 150), generatedJpeg(120, 90)]);
  // 1.2 MP that no DCT reduction can shrink (600 px at 6/8 is 450 < 544): over the 1 MP edge limit.
  big = await generatedJpeg(2000, 600);
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function batch(init: RequestInit & { headers?: Record<string, string> }, query = '', env: object = ENV) {
  return Promise.resolve(
    app.request(
      `/v1/classify/batch${query}`,
      { method: 'POST', ...init, headers: { ...AUTH, ...init.headers } },
      env,
    ),
  );
}

function json(body: unknown, query = '', env: object = ENV) {
  return batch({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, query, env);
}

function multipart(
  images: readonly Uint8Array<ArrayBuffer>[],
  fields: Record<string, string> = {},
  query = '',
) {
  const form = new FormData();
  images.forEach((bytes, i) => {
    form.append('image', new Blob([bytes], { type: 'image/jpeg' }), `photo-${i}.jpg`);
  });
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return batch({ body: form }, query);
}

async function ok(response: Response): Promise<BatchResponse> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const body = BatchResponseSchema.parse(JSON.parse(text));
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  return body;
}

function answer(entry: BatchResponse['results'][number] | undefined): ClassifyResponse {
  if (!entry || isBatchError(entry)) throw new Error(`expected an answer, got ${JSON.stringify(entry)}`);
  return ClassifyResponseSchema.parse(entry);
}

function failed(
  entry: BatchResponse['results'][number] | undefined,
  status: number,
  code: ErrorCode,
): BatchError {
  if (!entry || !isBatchError(entry)) throw new Error(`expected an error, got ${JSON.stringify(entry)}`);
  expect(entry.status).toBe(status);
  expect(entry.error.code).toBe(code);
  return entry;
}

async function expectError(response: Response, status: number, code: ErrorCode, message?: RegExp) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = ErrorEnvelopeSchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  if (message) expect(body.error.message).toMatch(message);
}

describe('answers, in order', () => {
  it('multipart with repeated image fields: one entry per image, decoded in the order sent', async () => {
    const before = compute.decoded.length;
    const body = await ok(await multipart(jpegs, { tier: 'fast', top_k: '3' }));
    expect(body.results).toHaveLength(3);
    for (const entry of body.results) {
      expect(answer(entry)).toMatchObject({
        model: 'efficientnet-b0',
        tier: 'fast',
        request_id: body.request_id,
      });
      expect(answer(entry).predictions).toEqual(topPredictions(LOGITS, 3));
    }
    expect(compute.decoded.slice(before)).toEqual([
      { width: 320, height: 240 },
      { width: 200, height: 150 },
      { width: 120, height: 90 },
    ]);
    // Each image is decoded for B0: its JPEG keeps twice B0's resize target.
    expect(compute.decodeMinSides.slice(before)).toEqual([512, 512, 512]);
    // On balanced, for B1: twice B1's.
    await ok(await multipart(jpegs.slice(0, 2), { tier: 'balanced' }));
    expect(compute.decodeMinSides.slice(before + 3)).toEqual([544, 544]);
  });

  it('JSON with base64 images and parameters in the body, or parameters in the query', async () => {
    const images = jpegs.map((bytes) => ({ image: b64(bytes) }));
    const inBody = await ok(await json({ images, tier: 'balanced', top_k: 2 }));
    expect(inBody.results.map((entry) => answer(entry).model)).toEqual(Array(3).fill('efficientnet-b1'));
    expect(answer(inBody.results[0]).predictions).toHaveLength(2);
    const inQuery = await ok(
      await multipart([jpegs[0] as Uint8Array<ArrayBuffer>], {}, '?tier=fast&top_k=1'),
    );
    expect(answer(inQuery.results[0])).toMatchObject({ model: 'efficientnet-b0', tier: 'fast' });
    expect(answer(inQuery.results[0]).predictions).toHaveLength(1);
  });

  it('one image answers exactly as POST /v1/classify does (timings aside)', async () => {
    const single = ClassifyResponseSchema.parse(
      await (
        await app.request(
          '/v1/classify?tier=fast&top_k=4',
          { method: 'POST', headers: { ...AUTH, 'content-type': 'image/jpeg' }, body: jpegs[1] },
          ENV,
        )
      ).json(),
    );
    const inBatch = answer(
      (await ok(await multipart([jpegs[1] as Uint8Array<ArrayBuffer>], {}, '?tier=fast&top_k=4'))).results[0],
    );
    const { timings_ms: _a, request_id: _b, ...expected } = single;
    expect(inBatch).toMatchObject(expected);
  });
});

describe('one bad image fails alone', () => {
  it('bad base64, not an image, both or neither of image / image_url, a URL: each its own 4xx', async () => {
    const gif = Buffer.from('GIF89a\u0001\u0000\u0001\u0000\u0000\u0000\u0000;').toString('base64');
    const body = await ok(
      await json({
        tier: 'fast',
        images: [
          { image: b64(jpegs[0] as Uint8Array) },
          { image: '***not base64***' },
          { image: gif },
          { image: b64(jpegs[1] as Uint8Array), image_url: 'https://example.com/a.jpg' },
          {},
          { image_url: 'https://169.254.169.254/latest/meta-data/' },
          { image: b64(jpegs[2] as Uint8Array) },
        ],
      }),
    );
    expect(body.results).toHaveLength(7);
    const [first, badBase64, notImage, both, neither, url, last] = body.results;
    expect(answer(first).model).toBe('efficientnet-b0');
    expect(failed(badBase64, 400, 'invalid_request').error.message).toMatch(/base64/);
    failed(notImage, 415, 'unsupported_media_type');
    expect(failed(both, 400, 'invalid_request').error.message).toMatch(/both image and image_url/);
    expect(failed(neither, 400, 'invalid_request').error.message).toMatch(/neither/);
    expect(failed(url, 400, 'url_forbidden').error.message).toMatch(/169\.254\.169\.254|metadata|link-local/);
    expect(answer(last).model).toBe('efficientnet-b0');
    for (const entry of body.results) {
      if (isBatchError(entry)) expect(entry.error.request_id).toBe(body.request_id);
    }
  });

  it('an image over the edge pixel limit fails with 413; a truncated one with 422; the rest answer', async () => {
    const sofAt = Buffer.from(jpegs[0] as Uint8Array).indexOf(Buffer.from([0xff, 0xc0]));
    const cut = (jpegs[0] as Uint8Array<ArrayBuffer>).slice(0, sofAt + 4);
    const before = compute.decoded.length;
    const body = await ok(await multipart([big, cut, jpegs[2] as Uint8Array<ArrayBuffer>], { tier: 'fast' }));
    expect(failed(body.results[0], 413, 'image_too_large').error.message).toMatch(/tier auto or accurate/);
    failed(body.results[1], 422, 'invalid_image');
    expect(answer(body.results[2]).model).toBe('efficientnet-b0');
    expect(compute.decoded.length - before).toBe(1);
  });

  it('the origin failure policy applies per image: auto degrades, accurate fails with 503 and a retry time', async () => {
    const images = [jpegs[0], big].map((bytes) => ({ image: b64(bytes as Uint8Array) }));
    // min_confidence=1: the edge answer (top-1 about 0.35) escalates; the origin is not configured.
    const auto = await ok(await json({ images, tier: 'auto', min_confidence: 1 }));
    expect(answer(auto.results[0])).toMatchObject({
      model: 'efficientnet-b0',
      degraded: true,
      degraded_reason: 'origin_not_configured',
    });
    expect(answer(auto.results[0]).predictions[0]?.score).toBeCloseTo(TOP1, 12);
    // Over the edge's pixel limit: auto needs the origin for it, with nothing to degrade to.
    expect(failed(auto.results[1], 503, 'origin_unavailable').error.message).toMatch(/2000x600/);
    const accurate = await ok(await json({ images: images.slice(0, 1), tier: 'accurate' }));
    expect(failed(accurate.results[0], 503, 'origin_unavailable').retry_after_s).toBe(5);
    const degraded = await ok(
      await json({ images: images.slice(0, 1), tier: 'accurate', allow_degraded: true }),
    );
    expect(answer(degraded.results[0])).toMatchObject({ model: 'efficientnet-b1', degraded: true });
  });
});

describe('latency_budget_ms without a tier', () => {
  it('chooses per image by the deployed profiles, and reports the selection in each entry', async () => {
    // The committed profiles, served as the model bucket serves them (profiles/<runtime>.json).
    const root = path.resolve(import.meta.dirname, '../..');
    const bucket = {
      get: async (key: string) => {
        const text = await readFile(path.join(root, key), 'utf8').catch(() => null);
        return text === null ? null : { json: async () => JSON.parse(text) as unknown };
      },
    };
    const env = { ...ENV, MODELS: bucket };
    const images = [jpegs[0], big].map((bytes) => ({ image: b64(bytes as Uint8Array) }));
    const body = await ok(await json({ images, latency_budget_ms: 600_000 }, '', env));
    // No origin: the most accurate edge model, B1, fits 600 s.
    expect(answer(body.results[0])).toMatchObject({
      model: 'efficientnet-b1',
      selection: { budget_ms: 600_000, budget_met: true },
    });
    // Over the edge's pixel limit, with the origin out of reach: that image alone is refused.
    expect(failed(body.results[1], 413, 'image_too_large').error.message).toMatch(/latency_budget_ms chose/);
  });
});

describe('whole-request errors (4xx envelope)', () => {
  it(`${MAX_BATCH_IMAGES + 1} images, an empty list, and no image field at all`, async () => {
    const image = { image: b64(jpegs[2] as Uint8Array) };
    await expectError(
      await json({ images: Array(MAX_BATCH_IMAGES + 1).fill(image) }),
      400,
      'invalid_request',
      /at most 16 images/,
    );
    await expectError(await json({ images: [] }), 400, 'invalid_request', /at least one image/);
    await expectError(await json({ tier: 'fast' }), 400, 'invalid_request', /images/);
    const seventeen = Array.from({ length: MAX_BATCH_IMAGES + 1 }, () => jpegs[2] as Uint8Array<ArrayBuffer>);
    await expectError(await multipart(seventeen), 400, 'invalid_request', /at most 16 images/);
    await expectError(await multipart([], { tier: 'fast' }), 400, 'invalid_request', /image/);
  });

  it('malformed JSON, an unknown field, a bad parameter, parameters in two places, budget with a tier', async () => {
    const images = [{ image: b64(jpegs[2] as Uint8Array) }];
    await expectError(
      await batch({ headers: { 'content-type': 'application/json' }, body: '{"images": [' }),
      400,
      'invalid_request',
    );
    await expectError(await json({ images, colour: 'red' }), 400, 'invalid_parameter', /colour/);
    await expectError(await json({ images: [{ image: 'AAAA', extra: 1 }] }), 400, 'invalid_request', /extra/);
    await expectError(await json({ images, top_k: 0 }), 400, 'invalid_parameter', /top_k/);
    await expectError(await json({ images }, '?tier=fast'), 400, 'invalid_request', /not both/);
    await expectError(
      await multipart([jpegs[2] as Uint8Array<ArrayBuffer>], { tier: 'fast' }, '?top_k=2'),
      400,
      'invalid_request',
      /not both/,
    );
    await expectError(
      await json({ images, tier: 'fast', latency_budget_ms: 100 }),
      400,
      'invalid_parameter',
      /latency_budget_ms/,
    );
  });

  it('415 for a raw image or another Content-Type; 405 for GET', async () => {
    await expectError(
      await batch({ headers: { 'content-type': 'image/jpeg' }, body: jpegs[0] }),
      415,
      'unsupported_media_type',
      /multipart\/form-data/,
    );
    await expectError(await batch({ body: 'x' }), 415, 'unsupported_media_type');
    await expectError(
      await Promise.resolve(app.request('/v1/classify/batch', { headers: AUTH }, ENV)),
      405,
      'method_not_allowed',
    );
  });

  it('total bytes over BATCH_MAX_BYTES and total header pixels over BATCH_MAX_PIXELS: 413 before decoding', async () => {
    const before = compute.decoded.length;
    const images = Array.from({ length: 3 }, () => ({ image: b64(big) }));
    // Each image fits the per-image limit; together they pass the total.
    const maxBytes = Math.floor(big.byteLength * 2.5);
    expect(big.byteLength).toBeLessThan(300_000);
    await expectError(
      await json({ images, tier: 'accurate' }, '', { ...ENV, BATCH_MAX_BYTES: String(maxBytes) }),
      413,
      'payload_too_large',
      /BATCH_MAX_BYTES/,
    );
    // Two of them fit.
    const two = await ok(
      await json({ images: images.slice(0, 2), tier: 'fast' }, '', {
        ...ENV,
        BATCH_MAX_BYTES: String(maxBytes),
      }),
    );
    expect(two.results.map((entry) => isBatchError(entry) && entry.error.code)).toEqual([
      'image_too_large',
      'image_too_large',
    ]);
    // Header-only PNGs claiming 1000 x 1000 each: four are 4 MP against a 3 MP total.
    const claims = Array.from({ length: 4 }, () => pngHeaderOnly(1000, 1000));
    await expectError(
      await json({ images: claims.map((bytes) => ({ image: b64(bytes) })), tier: 'accurate' }),
      413,
      'image_too_large',
      /BATCH_MAX_PIXELS/,
    );
    expect(compute.decoded.length).toBe(before);
  });

  it('POST /v1/classify with several images names the batch route', async () => {
    const single = (init: RequestInit & { headers?: Record<string, string> }) =>
      Promise.resolve(
        app.request('/v1/classify', { method: 'POST', ...init, headers: { ...AUTH, ...init.headers } }, ENV),
      );
    await expectError(
      await single({
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ images: [{ image: b64(jpegs[0] as Uint8Array) }] }),
      }),
      400,
      'invalid_request',
      /\/v1\/classify\/batch/,
    );
    const form = new FormData();
    for (const bytes of jpegs.slice(0, 2)) form.append('image', new Blob([bytes]), 'photo.jpg');
    await expectError(await single({ body: form }), 400, 'invalid_request', /\/v1\/classify\/batch/);
  });
});

describe('OpenAPI', () => {
  it('documents POST /v1/classify/batch from its schemas, in a valid OpenAPI 3.1 document', async () => {
    const doc = (await (await Promise.resolve(app.request('/openapi.json', {}, ENV))).json()) as {
      paths: Record<
        string,
        { post?: { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } } }
      >;
      components: { schemas: Record<string, unknown> };
    };
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    const content = doc.paths['/v1/classify/batch']?.post?.requestBody?.content ?? {};
    expect(Object.keys(content).sort()).toEqual(['application/json', 'multipart/form-data']);
    const form = content['multipart/form-data']?.schema as { properties: { image: unknown } };
    expect(form.properties.image).toMatchObject({ type: 'array', maxItems: 16, items: { format: 'binary' } });
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['BatchJsonBody', 'BatchImage', 'BatchResponse', 'BatchError']),
    );
  });
});
