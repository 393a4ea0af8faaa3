// POST /v1/classify/batch on a real origin (factory-built B0, ONNX Runtime on CPU), signed as the edge
// signs it: several images in one call run through the dynamic batcher as one batch, each image answers
// on its own, and whole-call problems get the usual envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchResponse,
  BatchResponseSchema,
  ClassifyResponseSchema,
  isBatchError,
} from '../../shared/api/classify.ts';
import { signRequest } from '../../shared/signing/sign.ts';
import {
  buildModelsDir,
  classify,
  expectError,
  metricValue,
  solidImage,
  startTestOrigin,
  type TestOrigin,
} from './helpers.ts';

const KEY = { id: 'edge-batch', secret: `${'z'.repeat(16)}-batch-test-secret-0123456789` };
let origin: TestOrigin;
let cleanup: () => Promise<void>;
let png: Uint8Array<ArrayBuffer>;
let jpeg: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  const models = await buildModelsDir(['b0']);
  cleanup = models.cleanup;
  origin = await startTestOrigin(models.dir, {
    ORIGIN_HMAC_KEYS: `${KEY.id}:${KEY.secret}`,
    // Short: the batch call queues its images together, so it needs no window to form a batch.
    ORIGIN_BATCH_WINDOW_MS: '5',
    ORIGIN_MAX_BATCH: '16',
    ORIGIN_MAX_IMAGE_BYTES: '2000000',
  });
  png = new Uint8Array(await solidImage('png', 40, 30));
  jpeg = new Uint8Array(await solidImage('jpeg', 64, 48));
});

afterAll(async () => {
  await origin?.close();
  await cleanup?.();
});

function form(images: readonly Uint8Array<ArrayBuffer>[]): FormData {
  const body = new FormData();
  images.forEach((bytes, i) => {
    body.append('image', new Blob([bytes]), `image-${i}`);
  });
  return body;
}

/** Signs the exact multipart bytes, as the edge does. */
async function signedBatch(body: FormData | Uint8Array<ArrayBuffer>, query = 'model=efficientnet-b0') {
  const request = new Request('http://origin/', { method: 'POST', body });
  const bytes = new Uint8Array(await request.arrayBuffer());
  const contentType = request.headers.get('content-type') ?? 'application/octet-stream';
  const path = `/v1/classify/batch?${query}`;
  const signature = await signRequest({
    key: KEY,
    method: 'POST',
    audience: new URL(origin.url).host,
    pathWithQuery: path,
    body: bytes,
  });
  return fetch(`${origin.url}${path}`, {
    method: 'POST',
    body: bytes,
    headers: { ...signature, 'content-type': contentType, 'x-request-id': 'batch-test' },
  });
}

async function batchOk(response: Response): Promise<BatchResponse> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return BatchResponseSchema.parse(JSON.parse(text));
}

async function metrics(): Promise<string> {
  return (await fetch(`${origin.url}/metrics`)).text();
}

describe('POST /v1/classify/batch', () => {
  it('runs the images of one call as one batch, answers in order, one bad image fails alone', async () => {
    const garbled = Uint8Array.from(jpeg);
    garbled.fill(0x55, 20, garbled.length - 2);
    const before = await metrics();
    const body = await batchOk(
      await signedBatch(form([png, garbled, jpeg, png]), 'model=efficientnet-b0&top_k=3'),
    );
    const after = await metrics();
    expect(body.request_id).toBe('batch-test');
    expect(body.results).toHaveLength(4);
    const [first, bad, third, fourth] = body.results;
    expect(bad).toMatchObject({ status: 422, error: { code: 'invalid_image', request_id: 'batch-test' } });
    for (const entry of [first, third, fourth]) {
      const answer = ClassifyResponseSchema.parse(entry);
      expect(answer).toMatchObject({ model: 'efficientnet-b0', tier: 'fast', request_id: 'batch-test' });
      expect(answer.predictions).toHaveLength(3);
    }
    // The same image twice in one batch gives the same scores (batched rows are independent).
    expect(ClassifyResponseSchema.parse(fourth).predictions).toEqual(
      ClassifyResponseSchema.parse(first).predictions,
    );
    // Three images, one model run: the dynamic batcher saw them together.
    const count = (t: string) => metricValue(t, 'origin_batch_size_count', { model: 'efficientnet-b0' });
    const sum = (t: string) => metricValue(t, 'origin_batch_size_sum', { model: 'efficientnet-b0' });
    expect(sum(after) - sum(before)).toBe(3);
    expect(count(after) - count(before)).toBe(1);
  });

  it('answers each image as POST /v1/classify would (scores within 1e-6)', async () => {
    const batch = await batchOk(await signedBatch(form([jpeg]), 'model=efficientnet-b0&top_k=5'));
    const single = await signRequest({
      key: KEY,
      method: 'POST',
      audience: new URL(origin.url).host,
      pathWithQuery: '/v1/classify?model=efficientnet-b0&top_k=5',
      body: jpeg,
    });
    const alone = ClassifyResponseSchema.parse(
      await (await classify(origin.url, jpeg, 'model=efficientnet-b0&top_k=5', single)).json(),
    );
    const entry = batch.results[0];
    if (!entry || isBatchError(entry)) throw new Error(`no answer: ${JSON.stringify(entry)}`);
    expect(entry.predictions.map((p) => p.index)).toEqual(alone.predictions.map((p) => p.index));
    entry.predictions.forEach((p, i) => {
      expect(Math.abs(p.score - (alone.predictions[i]?.score ?? Number.NaN))).toBeLessThanOrEqual(1e-6);
    });
  });

  it('refuses the whole call for 17 images, none, a bad parameter, an unknown field or a raw body', async () => {
    await expectError(await signedBatch(form(Array.from({ length: 17 }, () => png))), 400, 'invalid_request');
    const empty = new FormData();
    empty.set('note', 'no images');
    await expectError(await signedBatch(empty), 400, 'invalid_parameter');
    await expectError(await signedBatch(form([])), 400, 'invalid_request');
    await expectError(
      await signedBatch(form([png]), 'model=efficientnet-b0&top_k=0'),
      400,
      'invalid_parameter',
    );
    await expectError(await signedBatch(form([png]), 'model=efficientnet-b7'), 503, 'model_unavailable');
    await expectError(await signedBatch(png), 415, 'unsupported_media_type');
  });

  it('is signed like POST /v1/classify: an unsigned call is refused', async () => {
    const response = await fetch(`${origin.url}/v1/classify/batch?model=efficientnet-b0`, {
      method: 'POST',
      body: form([png]),
    });
    await expectError(response, 401, 'unauthorized');
  });
});
