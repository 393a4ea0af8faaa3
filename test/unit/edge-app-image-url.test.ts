// image_url in the edge app's JSON body, in process (app.request()) against a real HTTP server on
// 127.0.0.1: the policy's refusals, redirects, the byte cap, the deadline and sniffing, each with its
// envelope. Decoding and inference are fakes here (the header probe is real); test/workerd/errors.test.ts
// runs the real Worker's fetch() in workerd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEdgeApp } from '../../edge/app.ts';
import { generatedJpeg } from '../../infra/bench/images.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { type ErrorCode, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { fakeCompute, logitsFavouring } from '../support/fake-compute.ts';
import { type ImageUrlServer, startImageUrlServer } from '../support/image-url-server.ts';

const KEY = 'test-key-1';
const MAX_BODY = 300_000;
const TIMEOUT_MS = 600;
// The unsafe switch is what lets the edge reach the 127.0.0.1 server at all.
const TEST_ENV = {
  API_KEYS: KEY,
  MAX_BODY_BYTES: String(MAX_BODY),
  IMAGE_URL_TIMEOUT_MS: String(TIMEOUT_MS),
  IMAGE_URL_UNSAFE_TEST_LOOPBACK: '1',
};
const STRICT_ENV = { API_KEYS: KEY, MAX_BODY_BYTES: String(MAX_BODY) };

const compute = fakeCompute({ logits: logitsFavouring(7) });

let app: ReturnType<typeof createEdgeApp>;
let server: ImageUrlServer;

beforeAll(async () => {
  app = createEdgeApp(compute);
  server = await startImageUrlServer(await generatedJpeg(320, 240));
});
afterAll(() => server?.close());

function classifyJson(body: object, env: object = TEST_ENV): Promise<Response> {
  return Promise.resolve(
    app.request(
      '/v1/classify',
      {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      env,
    ),
  );
}
const byUrl = (imageUrl: string, env?: object) => classifyJson({ image_url: imageUrl, tier: 'fast' }, env);

async function expectError(response: Response, status: number, code: ErrorCode, message?: RegExp) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = ErrorEnvelopeSchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
  return body.error.message;
}

describe('image_url, fetched', () => {
  it('classifies the image at a URL like the same image inline', async () => {
    const response = await byUrl(server.url('/image.jpg'));
    expect(response.status, await response.clone().text()).toBe(200);
    const body = ClassifyResponseSchema.parse(await response.json());
    expect(body.model).toBe('efficientnet-b0');
    expect(body.predictions[0]?.index).toBe(7);
  });

  it('trusts the bytes, not the Content-Type', async () => {
    expect((await byUrl(server.url('/image-as-text'))).status).toBe(200);
  });

  it('follows up to 3 redirects, relative ones included; a 4th is fetch_failed', async () => {
    expect((await byUrl(server.url('/redirect-relative'))).status).toBe(200);
    expect((await byUrl(server.url('/chain/2'))).status).toBe(200); // 3 redirects
    await expectError(await byUrl(server.url('/chain/3')), 422, 'fetch_failed', /more than 3 redirects/);
  });

  it('checks every redirect target again: private, metadata, http elsewhere', async () => {
    await expectError(
      await byUrl(server.url('/redirect-private')),
      400,
      'url_forbidden',
      /redirects to https:\/\/10\.0\.0\.1.*private/,
    );
    await expectError(await byUrl(server.url('/redirect-metadata')), 400, 'url_forbidden', /metadata/);
    await expectError(await byUrl(server.url('/redirect-http')), 400, 'url_forbidden', /only https/);
    await expectError(
      await byUrl(server.url('/redirect-nowhere')),
      422,
      'fetch_failed',
      /without a Location/,
    );
  });

  it('a URL that streams forever ends as fetch_failed within the timeout', async () => {
    const started = performance.now();
    await expectError(
      await byUrl(server.url('/endless')),
      422,
      'fetch_failed',
      new RegExp(`within ${TIMEOUT_MS} ms`),
    );
    const elapsed = performance.now() - started;
    // Tolerance: the deadline plus 2 s for a loaded machine; without the deadline this never returns.
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 2000);
    await expect.poll(() => server.openStreams(), { timeout: 5000 }).toBe(0);
  });

  it('caps the bytes: a declared or streamed body over the limit is fetch_failed', async () => {
    await expectError(
      await byUrl(server.url('/declared-huge')),
      422,
      'fetch_failed',
      new RegExp(`${MAX_BODY}-byte limit`),
    );
    await expectError(
      await byUrl(server.url('/flood')),
      422,
      'fetch_failed',
      new RegExp(`${MAX_BODY}-byte limit`),
    );
    await expect.poll(() => server.openStreams(), { timeout: 5000 }).toBe(0);
  });

  it('a non-image body, an empty one or an error status', async () => {
    await expectError(
      await byUrl(server.url('/page.html')),
      415,
      'unsupported_media_type',
      /not a JPEG, PNG or WebP/,
    );
    await expectError(await byUrl(server.url('/empty')), 415, 'unsupported_media_type', /empty/);
    await expectError(await byUrl(server.url('/missing')), 422, 'fetch_failed', /HTTP 404/);
  });

  it('a closed port is fetch_failed', async () => {
    const closed = await startImageUrlServer(new Uint8Array(0));
    const url = closed.url('/image.jpg');
    await closed.close();
    await expectError(await byUrl(url), 422, 'fetch_failed', /request failed/);
  });
});

describe('image_url, refused before any request', () => {
  it.each([
    ['https://169.254.169.254/latest/meta-data/', /metadata/],
    ['https://127.0.0.1/a.jpg', /loopback/],
    ['https://[::1]/a.jpg', /loopback/],
    ['https://2130706433/a.jpg', /loopback/],
    ['https://[::ffff:169.254.169.254]/', /metadata/],
    ['https://localhost/a.jpg', /local or internal/],
    ['https://metadata.google.internal/', /local or internal/],
    ['http://example.com/a.jpg', /only https/],
    ['https://user:pw@example.com/a.jpg', /credentials/],
    ['https://example.com:8080/a.jpg', /port 8080/],
    ['file:///etc/passwd', /only https/],
    ['not a url', /absolute URL/],
  ])('%s → url_forbidden', async (url, reason) => {
    const before = server.requests.length;
    await expectError(await byUrl(url, STRICT_ENV), 400, 'url_forbidden', reason);
    expect(server.requests.length).toBe(before);
  });

  it('without the test switch, the local server itself is refused', async () => {
    const before = server.requests.length;
    await expectError(
      await byUrl(server.url('/image.jpg'), STRICT_ENV),
      400,
      'url_forbidden',
      /only https|loopback/,
    );
    expect(server.requests.length).toBe(before);
  });

  it('with the switch, metadata and private addresses stay refused', async () => {
    await expectError(
      await byUrl('http://169.254.169.254/latest/meta-data/'),
      400,
      'url_forbidden',
      /metadata/,
    );
    await expectError(await byUrl('http://10.1.2.3:8080/'), 400, 'url_forbidden', /private/);
  });

  it('allow and deny lists', async () => {
    await expectError(
      await byUrl(server.url('/image.jpg'), { ...TEST_ENV, IMAGE_URL_ALLOW_HOSTS: 'images.example.com' }),
      400,
      'url_forbidden',
      /not on the allow list/,
    );
    await expectError(
      await byUrl('https://x.cdn.example.net/a.jpg', {
        ...STRICT_ENV,
        IMAGE_URL_DENY_HOSTS: '*.example.net',
      }),
      400,
      'url_forbidden',
      /deny list/,
    );
  });

  it('a bad setting fails closed: 500 for every request, whatever the URL', async () => {
    await expectError(
      await byUrl(server.url('/image.jpg'), { ...TEST_ENV, IMAGE_URL_ALLOW_HOSTS: 'http://x' }),
      500,
      'internal',
    );
    await expectError(
      await byUrl(server.url('/image.jpg'), { ...STRICT_ENV, IMAGE_URL_UNSAFE_TEST_LOOPBACK: 'yes' }),
      500,
      'internal',
    );
  });
});

describe('the JSON body', () => {
  it('takes exactly one of image and image_url', async () => {
    await expectError(
      await classifyJson({ image: 'AAAA', image_url: server.url('/image.jpg') }),
      400,
      'invalid_request',
      /exactly one of image/,
    );
    await expectError(await classifyJson({ tier: 'fast' }), 400, 'invalid_request', /exactly one of image/);
    await expectError(
      await classifyJson({ image_url: `https://example.com/${'a'.repeat(2100)}` }),
      400,
      // Whatever is wrong with the image fields is a request problem (edge/classify/validation.ts).
      'invalid_request',
      /image_url/,
    );
  });

  it('OpenAPI documents image_url', async () => {
    const doc = (await (await app.request('/openapi.json', {}, TEST_ENV)).json()) as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    const body = doc.components.schemas.ClassifyJsonBody;
    expect(Object.keys(body?.properties ?? {})).toEqual(expect.arrayContaining(['image', 'image_url']));
  });
});
