// image_url through the real Worker in workerd: its fetch() with redirect 'manual', the streamed byte cap
// and the deadline in the Workers runtime, and a good URL classified by B0 for real. The in-process suite
// (test/unit/edge-app-image-url.test.ts) covers every refusal case by case; this one checks the issue's
// bad-input list end to end. Booted with the test-only loopback switch, so the Worker may reach the
// local HTTP server; metadata and private addresses stay refused with it on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { type ErrorCode, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { type ImageUrlServer, startImageUrlServer } from '../support/image-url-server.ts';

const KEY = 'test-key-1';
const MAX_BODY = 300_000;
const TIMEOUT_MS = 1500;

let worker: BootedWorker;
let server: ImageUrlServer;
let jpeg: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  const models = await testModels();
  jpeg = await generatedJpeg(320, 240);
  server = await startImageUrlServer(jpeg);
  worker = await bootWorker({
    models: [models.b0],
    secrets: { API_KEYS: KEY },
    vars: {
      MAX_BODY_BYTES: String(MAX_BODY),
      IMAGE_URL_TIMEOUT_MS: String(TIMEOUT_MS),
      IMAGE_URL_UNSAFE_TEST_LOOPBACK: '1',
    },
  });
});
afterAll(async () => {
  await worker?.dispose();
  await server?.close();
});

function classify(body: object): Promise<Response> {
  return worker.fetch('/v1/classify', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function expectError(response: Response, status: number, code: ErrorCode, message?: RegExp) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = ErrorEnvelopeSchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  if (message) expect(body.error.message).toMatch(message);
}

describe('image_url in workerd', () => {
  it('a good URL: 200 with the same predictions as the image sent inline', async () => {
    const byUrl = await classify({ image_url: server.url('/redirect-relative'), tier: 'fast', top_k: 3 });
    expect(byUrl.status, await byUrl.clone().text()).toBe(200);
    const inline = await classify({ image: Buffer.from(jpeg).toString('base64'), tier: 'fast', top_k: 3 });
    expect(inline.status).toBe(200);
    const fromUrl = ClassifyResponseSchema.parse(await byUrl.json());
    expect(fromUrl.model).toBe('efficientnet-b0');
    expect(fromUrl.predictions).toEqual(ClassifyResponseSchema.parse(await inline.json()).predictions);
    expect(server.requests).toContain('/image.jpg');
    // The test-only switch is said in the log, once.
    expect(worker.logs().match(/image_url may fetch http: and loopback addresses/g)).toHaveLength(1);
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data/', /metadata/],
    ['http://169.254.169.254/latest/meta-data/', /metadata/],
    ['https://[fd00:ec2::254]/', /metadata/],
    ['https://10.0.0.1/a.jpg', /private/],
    ['http://example.com/a.jpg', /only https/],
    ['https://user:pw@example.com/a.jpg', /credentials/],
  ])('%s: url_forbidden', async (url, reason) => {
    await expectError(await classify({ image_url: url }), 400, 'url_forbidden', reason);
  });

  it('a redirect to a private or metadata address: url_forbidden, not followed', async () => {
    await expectError(
      await classify({ image_url: server.url('/redirect-private') }),
      400,
      'url_forbidden',
      /10\.0\.0\.1/,
    );
    await expectError(
      await classify({ image_url: server.url('/redirect-metadata') }),
      400,
      'url_forbidden',
      /metadata/,
    );
    await expectError(
      await classify({ image_url: server.url('/chain/3') }),
      422,
      'fetch_failed',
      /redirects/,
    );
  });

  it('a URL that streams forever: fetch_failed within the timeout', async () => {
    const started = performance.now();
    await expectError(await classify({ image_url: server.url('/endless') }), 422, 'fetch_failed', /within/);
    // Tolerance: 3 s over the deadline for workerd and a loaded machine.
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 3000);
    // The Worker hung up: the server is not left writing into a dropped fetch.
    await expect.poll(() => server.openStreams(), { timeout: 5000 }).toBe(0);
  });

  it('a body over the limit and a non-image body', async () => {
    await expectError(await classify({ image_url: server.url('/flood') }), 422, 'fetch_failed', /byte limit/);
    await expect.poll(() => server.openStreams(), { timeout: 5000 }).toBe(0);
    await expectError(await classify({ image_url: server.url('/page.html') }), 415, 'unsupported_media_type');
  });
});
