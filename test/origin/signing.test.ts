import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { signRequest } from '../../shared/signing/sign.ts';
import {
  buildModelsDir,
  classify,
  signedClassify,
  solidImage,
  startTestOrigin,
  type TestOrigin,
} from './helpers.ts';

// An origin with a signing key refuses anything not signed by it, and each signature works once.

const KEY = { id: 'edge-1', secret: `${'x'.repeat(16)}-test-secret-0123456789` };
const OLD_KEY = { id: 'edge-0', secret: 'y'.repeat(40) };
let origin: TestOrigin;
let cleanup: () => Promise<void>;
let image: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  const models = await buildModelsDir(['b0']);
  cleanup = models.cleanup;
  origin = await startTestOrigin(models.dir, {
    ORIGIN_HMAC_KEYS: `${KEY.id}:${KEY.secret},${OLD_KEY.id}:${OLD_KEY.secret}`,
    ORIGIN_BATCH_WINDOW_MS: '0',
  });
  image = new Uint8Array(await solidImage('png'));
});

afterAll(async () => {
  await origin?.close();
  await cleanup?.();
});

async function expect401(response: Response, fragment: string) {
  expect(response.status).toBe(401);
  const body = ErrorEnvelopeSchema.parse(await response.json());
  expect(body.error.code).toBe('unauthorized');
  expect(body.error.message).toContain(fragment);
}

/** The same refusal under /v2, in the Open Inference Protocol's { error: string } shape. */
async function expectV2401(response: Response, fragment: string) {
  expect(response.status).toBe(401);
  expect(response.headers.get('x-error-code')).toBe('unauthorized');
  const body = (await response.json()) as { error: string };
  expect(typeof body.error).toBe('string');
  expect(body.error).toContain(fragment);
}

describe('signed origin', () => {
  it('accepts a signed request under either configured key', async () => {
    expect((await signedClassify(origin.url, KEY, image)).response.status).toBe(200);
    expect((await signedClassify(origin.url, OLD_KEY, image)).response.status).toBe(200);
  });

  it('refuses unsigned requests, also on the v2 routes, but not the probes or metrics', async () => {
    await expect401(await classify(origin.url, image), 'not signed');
    await expectV2401(await fetch(`${origin.url}/v2/models/efficientnet-b0`), 'not signed');
    expect((await fetch(`${origin.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${origin.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${origin.url}/metrics`)).status).toBe(200);
  });

  it('refuses a replayed request', async () => {
    const { response, headers } = await signedClassify(origin.url, KEY, image);
    expect(response.status).toBe(200);
    const replay = await fetch(`${origin.url}/v1/classify?model=efficientnet-b0`, {
      method: 'POST',
      body: image,
      headers,
    });
    await expect401(replay, 'already used');
  });

  it('refuses a signature for another body, another query, a stale timestamp or an unknown key', async () => {
    const path = '/v1/classify?model=efficientnet-b0';
    const audience = new URL(origin.url).host;
    const headers = await signRequest({
      key: KEY,
      method: 'POST',
      audience,
      pathWithQuery: path,
      body: image,
    });
    const other = new Uint8Array(await solidImage('jpeg'));
    await expect401(
      await fetch(`${origin.url}${path}`, { method: 'POST', body: other, headers }),
      'does not match',
    );
    await expect401(
      await fetch(`${origin.url}${path}&top_k=1`, { method: 'POST', body: image, headers }),
      'does not match',
    );
    const stale = await signRequest({
      key: KEY,
      method: 'POST',
      audience,
      pathWithQuery: path,
      body: image,
      now: Date.now() - 61_000,
    });
    await expect401(
      await fetch(`${origin.url}${path}`, { method: 'POST', body: image, headers: stale }),
      'expired',
    );
    const stranger = await signRequest({
      key: { id: 'someone', secret: KEY.secret },
      method: 'POST',
      audience,
      pathWithQuery: path,
      body: image,
    });
    await expect401(
      await fetch(`${origin.url}${path}`, { method: 'POST', body: image, headers: stranger }),
      'unknown',
    );
  });

  it('refuses bad signature headers before reading the body', async () => {
    // The body never ends: only a refusal made from the headers alone can answer.
    const stale = await signRequest({
      key: KEY,
      method: 'POST',
      audience: new URL(origin.url).host,
      pathWithQuery: '/v1/classify?model=efficientnet-b0',
      body: image,
      now: Date.now() - 120_000,
    });
    for (const headers of [
      {},
      stale,
      { ...stale, 'x-sig-key-id': 'someone', 'x-sig-timestamp': String(Date.now()) },
    ]) {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${origin.url}/v1/classify?model=efficientnet-b0`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': '1000000' },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.write(image.subarray(0, 100));
        setTimeout(() => reject(new Error('no answer while the body was still coming')), 5000).unref();
      });
      expect(status).toBe(401);
      expect(ErrorEnvelopeSchema.parse(JSON.parse(body)).error.code).toBe('unauthorized');
    }
  });

  it('refuses a signature made for another host', async () => {
    const path = '/v1/classify?model=efficientnet-b0';
    const headers = await signRequest({
      key: KEY,
      method: 'POST',
      audience: 'staging.example.com',
      pathWithQuery: path,
      body: image,
    });
    await expect401(
      await fetch(`${origin.url}${path}`, { method: 'POST', body: image, headers }),
      'does not match',
    );
  });
});
