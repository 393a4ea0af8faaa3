import { crc32 } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import {
  buildModelsDir,
  classify,
  expectError,
  expectV2Error,
  metricValue,
  solidImage,
  startTestOrigin,
  type TestOrigin,
} from './helpers.ts';

// One real origin (factory-built B0 at its native 224 px, ONNX Runtime on CPU) answering real HTTP.

interface InferResponse {
  model_name: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
}

let origin: TestOrigin;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const models = await buildModelsDir(['b0']);
  cleanup = models.cleanup;
  origin = await startTestOrigin(models.dir, {
    // A long window makes batching deterministic for concurrent requests on a slow, shared machine.
    ORIGIN_BATCH_WINDOW_MS: '150',
    ORIGIN_MAX_BATCH: '8',
    ORIGIN_MAX_PIXELS: '4000000',
    ORIGIN_MAX_IMAGE_BYTES: '2000000',
    ORIGIN_MAX_BODY_BYTES: '8000000',
  });
});

afterAll(async () => {
  await origin?.close();
  await cleanup?.();
});

describe('POST /v1/classify', () => {
  it('answers with the shared response shape, ImageNet labels and probabilities', async () => {
    const response = await classify(origin.url, await solidImage('jpeg'), 'model=efficientnet-b0&top_k=3');
    expect(response.status).toBe(200);
    const body = ClassifyResponseSchema.parse(await response.json());
    expect(body).toMatchObject({ model: 'efficientnet-b0', tier: 'fast', weights: 'untrained' });
    expect(body.predictions).toHaveLength(3);
    const scores = body.predictions.map((p) => p.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(body.predictions[0]?.label).toMatch(/\w/);
    expect(body.timings_ms.total).toBeGreaterThanOrEqual(body.timings_ms.inference);
  });

  it('accepts the JSON form with a base64 image', async () => {
    const image = Buffer.from(await solidImage('png')).toString('base64');
    const response = await fetch(`${origin.url}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image, model: 'efficientnet-b0', top_k: 2 }),
    });
    expect(response.status).toBe(200);
    expect(ClassifyResponseSchema.parse(await response.json()).predictions).toHaveLength(2);
  });

  it('runs concurrent requests as one batch (visible in /metrics)', async () => {
    const before = await (await fetch(`${origin.url}/metrics`)).text();
    const image = await solidImage('png', 16, 16);
    const responses = await Promise.all(Array.from({ length: 4 }, () => classify(origin.url, image)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const after = await (await fetch(`${origin.url}/metrics`)).text();
    const batches = (t: string) => metricValue(t, 'origin_batch_size_count', { model: 'efficientnet-b0' });
    const singles = (t: string) =>
      metricValue(t, 'origin_batch_size_bucket', { model: 'efficientnet-b0', le: '1' });
    const images = (t: string) => metricValue(t, 'origin_batch_size_sum', { model: 'efficientnet-b0' });
    expect(images(after) - images(before)).toBe(4);
    // Four images in fewer than four runs, and at least one run held more than one image.
    expect(batches(after) - batches(before)).toBeLessThan(4);
    expect(batches(after) - batches(before)).toBeGreaterThan(singles(after) - singles(before));
  });

  it('refuses non-images by magic bytes (415), whatever the Content-Type says', async () => {
    await expectError(
      await classify(origin.url, new TextEncoder().encode('GIF89a....')),
      415,
      'unsupported_media_type',
    );
    await expectError(await classify(origin.url, new Uint8Array(0)), 415, 'unsupported_media_type');
  });

  it('refuses corrupt and truncated images (422)', async () => {
    const png = await solidImage('png', 300, 200);
    await expectError(await classify(origin.url, png.subarray(0, 60)), 422, 'invalid_image');
    const jpeg = await solidImage('jpeg', 300, 200);
    const garbled = Uint8Array.from(jpeg);
    garbled.fill(0x55, 20, garbled.length - 2);
    await expectError(await classify(origin.url, garbled), 422, 'invalid_image');
  });

  it('refuses images over the pixel limit from the header alone, before decoding (413)', async () => {
    // A 1 x 1 PNG whose header is edited to claim 5000 x 5000: its pixel data cannot be decoded (that
    // would be a 422), so a 413 shows that the limit was enforced from the header, first.
    const ihdr = Uint8Array.from(
      encodePng({ width: 1, height: 1, data: new Uint8Array([1, 2, 3]), channels: 3 }),
    );
    const view = new DataView(ihdr.buffer);
    view.setUint32(16, 5000);
    view.setUint32(20, 5000);
    view.setUint32(29, crc32(ihdr.subarray(12, 29)));
    const body = await expectError(await classify(origin.url, ihdr), 413, 'image_too_large');
    expect(body.error.message).toContain('5000x5000');
  });

  it('refuses images over the byte limit and bodies over the body limit (413)', async () => {
    const big = new Uint8Array(2_000_001);
    big.set([0xff, 0xd8, 0xff]);
    await expectError(await classify(origin.url, big), 413, 'image_too_large');
    const huge = new Uint8Array(8_000_001);
    huge.set([0xff, 0xd8, 0xff]);
    const response = await classify(origin.url, huge);
    expect(response.headers.get('connection')).toBe('close');
    await expectError(response, 413, 'payload_too_large');
  });

  it('answers 400 for bad parameters, 503 for a model this origin does not serve', async () => {
    const image = await solidImage('png');
    const bad = await expectError(
      await classify(origin.url, image, 'model=efficientnet-b0&top_k=99'),
      400,
      'invalid_parameter',
    );
    expect(bad.error.message).toContain('top_k');
    await expectError(
      await classify(origin.url, image, 'model=efficientnet-b0&colour=red'),
      400,
      'invalid_parameter',
    );
    await expectError(await classify(origin.url, image, 'model=efficientnet-b7'), 503, 'model_unavailable');
    await expectError(await classify(origin.url, image, 'tier=max'), 503, 'tier_unavailable');
    await expectError(
      await classify(origin.url, image, 'model=efficientnet-b0', { 'x-deadline-ms': 'soon' }),
      400,
      'invalid_parameter',
    );
  });

  it('answers 504 when the deadline has passed before inference', async () => {
    const response = await classify(origin.url, await solidImage('png'), 'model=efficientnet-b0', {
      'x-deadline-ms': '0',
    });
    await expectError(response, 504, 'deadline_exceeded');
  });
});

describe('Open Inference Protocol v2', () => {
  it('reports liveness, readiness, model metadata with the execution provider', async () => {
    expect(await (await fetch(`${origin.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect((await fetch(`${origin.url}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${origin.url}/v2/models/efficientnet-b0/ready`)).json()).toEqual({
      name: 'efficientnet-b0',
      ready: true,
    });
    const meta = await (await fetch(`${origin.url}/v2/models/efficientnet-b0`)).json();
    expect(meta).toMatchObject({
      name: 'efficientnet-b0',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
      parameters: { execution_provider: 'cpu' },
    });
    await expectV2Error(await fetch(`${origin.url}/v2/models/efficientnet-b9`), 404, 'not_found');
  });

  it('runs FP32 tensors; the same image twice gives the same logits, different images differ', async () => {
    const n = 3 * 224 * 224;
    const data = new Array<number>(2 * n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i / 500);
    for (let i = 0; i < n; i++) data[n + i] = -0.5;
    const request = {
      id: 'r1',
      inputs: [{ name: 'input', shape: [2, 3, 224, 224], datatype: 'FP32', data }],
    };
    const response = await fetch(`${origin.url}/v2/models/efficientnet-b0/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as InferResponse;
    expect(body).toMatchObject({ model_name: 'efficientnet-b0', id: 'r1' });
    const out = body.outputs[0] as InferResponse['outputs'][number];
    expect(out).toMatchObject({ name: 'logits', datatype: 'FP32', shape: [2, 1000] });
    expect(out.data).toHaveLength(2000);
    const first = out.data.slice(0, 1000);
    const second = out.data.slice(1000);
    expect(first.some((v, i) => Math.abs(v - (second[i] ?? 0)) > 1e-4)).toBe(true);

    const again = await fetch(`${origin.url}/v2/models/efficientnet-b0/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ ...request.inputs[0], shape: [1, 3, 224, 224], data: data.slice(0, n) }],
      }),
    });
    const repeated = ((await again.json()) as InferResponse).outputs[0]?.data ?? [];
    // Batched and single runs may use different kernels: equal within float32 rounding.
    for (let i = 0; i < 1000; i++) expect(repeated[i]).toBeCloseTo(first[i] as number, 3);
  });

  it('refuses tensors of the wrong shape, type or size with 400', async () => {
    const post = (input: object) =>
      fetch(`${origin.url}/v2/models/efficientnet-b0/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [input] }),
      });
    const base = { name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data: [0] };
    await expectV2Error(await post({ ...base, shape: [1, 3, 64, 64] }), 400, 'invalid_parameter');
    await expectV2Error(await post({ ...base, datatype: 'INT8' }), 400, 'invalid_parameter');
    await expectV2Error(await post(base), 400, 'invalid_parameter');
    await expectV2Error(await post({ ...base, data: 'x' }), 400, 'invalid_parameter');
  });
});

describe('GET /metrics', () => {
  it('exports request counts, latency, queue depth, inference time and the active provider', async () => {
    const response = await fetch(`${origin.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(
      metricValue(text, 'origin_http_requests_total', { route: '/v1/classify', status: '200' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'origin_http_request_duration_seconds_count', { route: '/v1/classify' }),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/^origin_queue_depth\{model="efficientnet-b0"\} 0$/m);
    expect(
      metricValue(text, 'origin_inference_duration_seconds_count', { model: 'efficientnet-b0' }),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/^origin_execution_provider\{model="efficientnet-b0",provider="cpu"\} 1$/m);
  });
});
