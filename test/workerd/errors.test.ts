// Every refusal of POST /v1/classify in real workerd: precise status, our envelope, no crash or hang.
// Booted with API keys (secret and KV), a small body limit and a small pixel limit so the limits are
// cheap to hit; only B0 is in the bucket, so B1 is "not deployed".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, pngHeaderOnly } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { type ErrorCode, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';

const KEY = 'test-key-1';
const KV_KEY = 'kv-key-7';
const MAX_BODY = 300_000;
const MAX_PIXELS = 1_000_000;
const AUTH = { authorization: `Bearer ${KEY}` };

let worker: BootedWorker;
let jpeg: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  const models = await testModels();
  jpeg = await generatedJpeg(320, 240);
  worker = await bootWorker({
    models: [models.b0],
    secrets: { API_KEYS: `other-key, ${KEY}` },
    vars: {
      MAX_BODY_BYTES: String(MAX_BODY),
      MAX_IMAGE_PIXELS: String(MAX_PIXELS),
    },
    kvKeys: [KV_KEY],
  });
});
afterAll(async () => {
  await worker?.dispose();
});

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

function classify(
  query: string,
  init: RequestInit & { headers?: Record<string, string> },
): Promise<Response> {
  return worker.fetch(`/v1/classify${query}`, {
    method: 'POST',
    ...init,
    headers: { ...AUTH, ...init.headers },
  });
}
const asJpeg = (body: BodyInit, query = '?tier=fast') =>
  classify(query, { headers: { 'content-type': 'image/jpeg' }, body });

describe('authentication', () => {
  it('401 without a key, with a wrong key; OK with a secret key or a KV key; public paths stay open', async () => {
    await expectError(await worker.fetch('/v1/models'), 401, 'unauthorized', /Missing API key/);
    await expectError(
      await worker.fetch('/v1/models', { headers: { authorization: 'Bearer nope' } }),
      401,
      'unauthorized',
      /Invalid/,
    );
    expect((await worker.fetch('/v1/models', { headers: AUTH })).status).toBe(200);
    expect(
      (await worker.fetch('/v1/models', { headers: { authorization: `Bearer ${KV_KEY}` } })).status,
    ).toBe(200);
    expect((await worker.fetch('/healthz')).status).toBe(200);
    expect((await worker.fetch('/openapi.json')).status).toBe(200);
  });

  it('401 for a token over the length limit or outside the bearer charset', async () => {
    for (const token of ['k'.repeat(257), 'bad,token', 'tök']) {
      await expectError(
        await worker.fetch('/v1/models', { headers: { authorization: `Bearer ${token}` } }),
        401,
        'unauthorized',
      );
    }
  });

  it('the binding table wrangler prints names the key secret without showing it', () => {
    expect(worker.logs()).toContain('API_KEYS');
    expect(worker.logs()).not.toContain(KEY);
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

  it('422 for a malformed JPEG and for one truncated inside its headers', async () => {
    const garbage = new Uint8Array(2000).fill(0x41);
    garbage.set([0xff, 0xd8, 0xff, 0xe0]);
    await expectError(await asJpeg(garbage), 422, 'invalid_image');
    // Cut before the frame header: no dimensions can be read. (A JPEG cut inside its scan data is
    // decoded with the missing rows filled in, as browsers do; edge/image owns that decision.)
    const sofAt = Buffer.from(jpeg).indexOf(Buffer.from([0xff, 0xc0]));
    expect(sofAt).toBeGreaterThan(20);
    await expectError(await asJpeg(jpeg.slice(0, sofAt + 4)), 422, 'invalid_image');
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
    await expectError(
      await asJpeg(new Uint8Array(MAX_BODY + 1)),
      413,
      'payload_too_large',
      new RegExp(String(MAX_BODY)),
    );
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
    // The rest of the upload was drained, so the next request on the same client is unaffected.
    await expectError(await asJpeg(pngHeaderOnly(20_000, 20_000)), 413, 'image_too_large');
  });

  it('refuses too many pixels from the header, before decoding', async () => {
    await expectError(
      await classify('?tier=fast', {
        headers: { 'content-type': 'image/png' },
        body: pngHeaderOnly(20_000, 20_000),
      }),
      413,
      'image_too_large',
    );
    const big = await generatedJpeg(1200, 900);
    expect(big.length).toBeLessThan(MAX_BODY);
    await expectError(await asJpeg(big), 413, 'image_too_large', /pixels/);
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
    const big = await generatedJpeg(1200, 900);
    await expectError(await asJpeg(big, '?tier=fast'), 413, 'image_too_large', /tier auto or accurate/);
    const response = await asJpeg(big, '?tier=auto');
    expect(response.headers.get('retry-after')).toBe('5');
    await expectError(response, 503, 'origin_unavailable', /1200x900.*pixel budget/);
  });

  it('allow_degraded=true falls back to edge B1, here not deployed: 503 model_unavailable', async () => {
    await expectError(
      await asJpeg(jpeg, '?tier=accurate&allow_degraded=true'),
      503,
      'model_unavailable',
      /efficientnet-b1.*not deployed/,
    );
  });

  it('an edge model whose files are not in the bucket, while a deployed one still works', async () => {
    await expectError(await asJpeg(jpeg, '?model=efficientnet-b1'), 503, 'model_unavailable', /not deployed/);
    expect((await asJpeg(jpeg, '?model=efficientnet-b0')).status).toBe(200);
  });
});

describe('other paths', () => {
  it('404 envelope for an unknown route, 405 for the wrong method', async () => {
    await expectError(await worker.fetch('/v2/nothing', { headers: AUTH }), 404, 'not_found');
    await expectError(
      await worker.fetch('/v1/classify', { headers: AUTH }),
      405,
      'method_not_allowed',
      /POST/,
    );
  });

  it('debug routes are off unless DEBUG_ROUTES=1', async () => {
    await expectError(await worker.fetch('/_debug/inference', { headers: AUTH }), 404, 'not_found');
  });
});
