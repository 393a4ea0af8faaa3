// The refusals that need the real Worker in workerd: the secret's binding as wrangler reports it, an
// oversized streamed upload drained so the connection stays usable, and models missing from the R2
// bucket. Every other refusal (envelope, status, message) runs in process: test/unit/edge-app.test.ts.
// Booted with API keys (secret and KV), a small body limit and a small pixel limit; only B0 is in the
// bucket, so B1 is "not deployed".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, pngHeaderOnly } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
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
  it('admits a key from the API_KEYS secret and one from the API_KEYS_KV binding', async () => {
    expect((await worker.fetch('/v1/models', { headers: AUTH })).status).toBe(200);
    expect(
      (await worker.fetch('/v1/models', { headers: { authorization: `Bearer ${KV_KEY}` } })).status,
    ).toBe(200);
    await expectError(await worker.fetch('/v1/models'), 401, 'unauthorized', /Missing API key/);
  });

  it('the binding table wrangler prints names the key secret without showing it', () => {
    expect(worker.logs()).toContain('API_KEYS');
    expect(worker.logs()).not.toContain(KEY);
  });
});

describe('limits (413)', () => {
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
});

describe('edge models missing from the bucket (503)', () => {
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
