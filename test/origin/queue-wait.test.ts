// The origin's queue wait estimate: the batcher's arithmetic on a controlled clock, then a real origin
// (B0 on ONNX Runtime, in process) reporting it in /v2/models/<m> and the x-queue-wait-ms header, read by
// the edge's own origin client and aged by the edge's reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOriginClient } from '../../edge/origin/client.ts';
import { QueueWaitReports } from '../../edge/origin/queue-wait.ts';
import { Batcher } from '../../gpu-origin/batching/batcher.ts';
import { parseQueueWait, QUEUE_WAIT_HEADER } from '../../shared/http/queue-wait.ts';
import { buildModelsDir, classify, solidImage, startTestOrigin, type TestOrigin } from './helpers.ts';

/** A batcher whose runs finish when the test says, on a clock the test moves. */
function gatedBatcher(options: { maxBatch: number; windowMs: number; imageMs?: number }) {
  let clock = 0;
  const gates: (() => void)[] = [];
  const batcher = new Batcher({
    name: 'm',
    maxQueue: 16,
    ...options,
    now: () => clock,
    runBatch: (batch) =>
      new Promise<Float32Array>((resolve) => {
        gates.push(() => resolve(batch.map((x) => x * 2)));
      }),
  });
  return {
    batcher,
    advance: (ms: number) => {
      clock += ms;
    },
    finishRunning: async () => {
      gates.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

// Far, but within setTimeout's 32-bit range (a larger delay fires at once).
const FAR = 1e9;

describe('Batcher.expectedWaitMs', () => {
  it('prices the running batch and everything queued at the measured per-image time, then at observed batches', async () => {
    const t = gatedBatcher({ maxBatch: 1, windowMs: 0, imageMs: 100 });
    expect(t.batcher.expectedWaitMs()).toBe(0);
    const results = [1, 2, 3].map((v) => t.batcher.submit(new Float32Array([v]), FAR));
    // One runs (100 ms expected), two wait behind it.
    expect(t.batcher.expectedWaitMs()).toBe(300);
    t.advance(40);
    expect(t.batcher.expectedWaitMs()).toBe(260);
    // A place held by a request still decoding counts as work ahead too.
    const held = t.batcher.reserve(1, FAR);
    expect(t.batcher.expectedWaitMs()).toBe(360);
    held.release();
    // The first batch took 50 ms: observed time replaces the prior.
    t.advance(10);
    await t.finishRunning();
    expect(t.batcher.imageMs).toBe(50);
    expect(t.batcher.expectedWaitMs()).toBe(100);
    await t.finishRunning();
    await t.finishRunning();
    expect(await Promise.all(results)).toEqual([1, 2, 3].map((v) => new Float32Array([v * 2])));
    expect(t.batcher.expectedWaitMs()).toBe(0);
  });

  it('counts the batching window when nothing runs, and nothing it cannot price', async () => {
    const unpriced = gatedBatcher({ maxBatch: 4, windowMs: 30 });
    expect(unpriced.batcher.imageMs).toBeNull();
    expect(unpriced.batcher.expectedWaitMs()).toBe(30);
    const windowed = gatedBatcher({ maxBatch: 4, windowMs: 30, imageMs: 20 });
    void windowed.batcher.submit(new Float32Array([1]), FAR);
    void windowed.batcher.submit(new Float32Array([2]), FAR);
    // Two queued in the open window: the window, then both images of the batch a newcomer joins.
    expect(windowed.batcher.expectedWaitMs()).toBe(30 + 2 * 20);
  });
});

describe('a real origin reports its queue wait', () => {
  let origin: TestOrigin;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const models = await buildModelsDir(['b0']);
    cleanup = models.cleanup;
    // One image per batch, no window: the queue is the only wait.
    origin = await startTestOrigin(models.dir, { ORIGIN_MAX_BATCH: '1', ORIGIN_BATCH_WINDOW_MS: '0' });
  });
  afterAll(async () => {
    await origin?.close();
    await cleanup?.();
  });

  async function queueWait() {
    const meta = (await (await fetch(`${origin.url}/v2/models/efficientnet-b0`)).json()) as {
      parameters: {
        latency: { p50_ms: number } | null;
        queue_wait: { estimate_ms: number; queued: number; image_ms: number | null };
      };
    };
    return meta.parameters;
  }

  it('is 0 when idle, prices images at the warm-up p50, and rises while a burst is queued', async () => {
    const idle = await queueWait();
    expect(idle.queue_wait).toMatchObject({ estimate_ms: 0, queued: 0 });
    expect(idle.latency?.p50_ms).toBeGreaterThan(0);
    expect(idle.queue_wait.image_ms).toBe(idle.latency?.p50_ms);

    const image = await solidImage('jpeg', 320, 240);
    const burst = Array.from({ length: 6 }, () => classify(origin.url, image));
    let highest = 0;
    let settled = false;
    const all = Promise.all(burst).finally(() => {
      settled = true;
    });
    while (!settled) {
      highest = Math.max(highest, (await queueWait()).queue_wait.estimate_ms);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const responses = await all;
    for (const response of responses) expect(response.status).toBe(200);
    // Six single-image batches on one thread: some were waiting behind others while we looked.
    expect(highest).toBeGreaterThan(0);
    const after = await queueWait();
    expect(after.queue_wait).toMatchObject({ estimate_ms: 0, queued: 0 });
    // Observed batches now price the images.
    expect(after.queue_wait.image_ms).toBeGreaterThan(0);
  });

  it("sends every model's estimate in a header, on answers and on refusals", async () => {
    const ok = await classify(origin.url, await solidImage('png'));
    expect(ok.status).toBe(200);
    expect([...parseQueueWait(ok.headers.get(QUEUE_WAIT_HEADER)).keys()]).toEqual(['efficientnet-b0']);
    const refused = await classify(origin.url, new Uint8Array([1, 2, 3]));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(
      parseQueueWait(refused.headers.get(QUEUE_WAIT_HEADER)).get('efficientnet-b0'),
    ).toBeGreaterThanOrEqual(0);
  });

  it('reaches the edge: its origin client hands the header to the reports the budget reads', async () => {
    let clock = 1_000_000;
    const reports = new QueueWaitReports(() => clock);
    const client = createOriginClient({
      baseUrl: origin.url,
      keyId: 'k',
      secret: 's'.repeat(32),
      onResponseHeaders: (headers) => reports.observe(headers.get(QUEUE_WAIT_HEADER)),
    });
    expect(reports.waitMs('efficientnet-b0')).toBeNull();
    const result = await client.classify(new Uint8Array(await solidImage('jpeg')), 'image/jpeg', {
      model: 'efficientnet-b0',
      top_k: 1,
      requestId: 'queue-wait-edge',
      deadlineMs: Date.now() + 60_000,
    });
    expect(result.ok).toBe(true);
    expect(reports.waitMs('efficientnet-b0')).toBe(0);
    expect(reports.waitMs('efficientnet-b7')).toBeNull();
    clock += 60_000;
    expect(reports.waitMs('efficientnet-b0')).toBeNull();
  });
});
