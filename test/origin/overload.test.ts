import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassifyResponse, ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import {
  buildModelsDir,
  classify,
  metricValue,
  solidImage,
  startTestOrigin,
  type TestOrigin,
} from './helpers.ts';

// EfficientNet-B5 at its native 456 px on CPU (0.1-2 s per image on this shared machine), so a short deadline
// expires while a request waits; and a B0 origin whose batch window is long enough to fill its queue at will.

let origin: TestOrigin;
let queued: TestOrigin;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const models = await buildModelsDir(['b0', 'b5']);
  cleanup = models.cleanup;
  origin = await startTestOrigin(models.dir, {
    ORIGIN_MODELS: 'efficientnet-b5',
    ORIGIN_BATCH_WINDOW_MS: '0',
    ORIGIN_MAX_BATCH: '1',
    ORIGIN_THREADS: '2',
    // Untimed: the warm-up's timed runs (a B5 run takes a second or more on CPU) only feed reported latency.
    ORIGIN_WARMUP_RUNS: '0',
  });
  queued = await startTestOrigin(models.dir, {
    ORIGIN_MODELS: 'efficientnet-b0',
    ORIGIN_BATCH_WINDOW_MS: '5000',
    ORIGIN_MAX_BATCH: '8',
    ORIGIN_MAX_QUEUE: '2',
  });
});

afterAll(async () => {
  await origin?.close();
  await queued?.close();
  await cleanup?.();
});

describe('EfficientNet-B5 origin under load', () => {
  it('classifies at the native resolution through the accurate tier', async () => {
    const meta = (await (await fetch(`${origin.url}/v2/models/efficientnet-b5`)).json()) as {
      inputs: { shape: number[] }[];
    };
    expect(meta.inputs[0]?.shape).toEqual([-1, 3, 456, 456]);
    const response = await classify(origin.url, await solidImage('jpeg', 640, 480), 'tier=accurate&top_k=5');
    expect(response.status).toBe(200);
    const body: ClassifyResponse = ClassifyResponseSchema.parse(await response.json());
    expect(body).toMatchObject({ model: 'efficientnet-b5', tier: 'accurate' });
    expect(body.predictions).toHaveLength(5);
  });
});

describe('bounded queue', () => {
  async function queueDepth(): Promise<number> {
    const text = await (await fetch(`${queued.url}/metrics`)).text();
    return metricValue(text, 'origin_queue_depth', { model: 'efficientnet-b0' });
  }

  it('drops a request whose deadline passes while it waits for inference, with 504', async () => {
    const image = await solidImage('png', 32, 32);
    const inferred = async () =>
      metricValue(await (await fetch(`${queued.url}/metrics`)).text(), 'origin_batch_size_sum', {
        model: 'efficientnet-b0',
      });
    const before = await inferred();
    // The 5 s batch window holds it in the queue; its 2 s deadline passes there, whatever the load.
    const late = await classify(queued.url, image, 'model=efficientnet-b0', { 'x-deadline-ms': '2000' });
    expect(late.status).toBe(504);
    const body = ErrorEnvelopeSchema.parse(await late.json());
    expect(body.error.code).toBe('deadline_exceeded');
    expect(body.error.message).toMatch(/waiting for inference/);
    expect(await inferred()).toBe(before);
    expect(await queueDepth()).toBe(0);
  });

  it('answers 429 with Retry-After while the queue is full, and serves the queued requests', async () => {
    const image = await solidImage('png', 32, 32);
    // The 5 s batch window holds these two in the queue.
    const waiting = [classify(queued.url, image), classify(queued.url, image)];
    while ((await queueDepth()) < 2) await new Promise((r) => setTimeout(r, 20));
    const decoded = queued.preparer.stats().started;
    const refused = await classify(queued.url, image);
    // Refused before its image was decoded.
    expect(queued.preparer.stats().started).toBe(decoded);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(ErrorEnvelopeSchema.parse(await refused.json()).error.code).toBe('queue_full');
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('refuses a v2 request with more images than the queue holds', async () => {
    const n = 3 * 224 * 224;
    const request = {
      inputs: [{ name: 'input', shape: [3, 3, 224, 224], datatype: 'FP32', data: new Array(3 * n).fill(0) }],
    };
    const response = await fetch(`${queued.url}/v2/models/efficientnet-b0/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).not.toBeNull();
  });
});
