// latency_budget_ms at a real origin (B0 and B1 on ONNX Runtime, in process), priced from a profile so the
// choice does not depend on this machine's speed: p95 40 ms for B0, 4000 ms for B1. The batching window
// (300 ms, max batch 8) is the queue wait a lone request expects.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import type { MeasuredProfile } from '../../shared/catalog/profile.ts';
import {
  buildModelsDir,
  classify,
  expectError,
  solidImage,
  startTestOrigin,
  type TestOrigin,
} from './helpers.ts';

const WINDOW_MS = 300;
const PROFILE: MeasuredProfile = {
  runtime: 'origin',
  provider: 'cpu',
  date: '2026-11-30T00:00:00.000Z',
  rows: [
    {
      variant: 'b0',
      runtime: 'origin',
      provider: 'cpu',
      resolution: 224,
      p50_ms: 30,
      p95_ms: 40,
      best_batch: 8,
    },
    {
      variant: 'b1',
      runtime: 'origin',
      provider: 'cpu',
      resolution: 240,
      p50_ms: 3000,
      p95_ms: 4000,
      best_batch: 8,
    },
  ],
};

let origin: TestOrigin;
let image: Uint8Array;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const models = await buildModelsDir(['b0', 'b1']);
  cleanups.push(models.cleanup);
  const dir = await mkdtemp(join(tmpdir(), 'origin-budget-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const profile = join(dir, 'origin.json');
  await writeFile(profile, JSON.stringify(PROFILE));
  origin = await startTestOrigin(models.dir, {
    ORIGIN_PROFILE: profile,
    ORIGIN_BATCH_WINDOW_MS: String(WINDOW_MS),
  });
  image = await solidImage('jpeg');
});
afterAll(async () => {
  await origin?.close();
  for (const cleanup of cleanups) await cleanup();
});

describe('latency_budget_ms at the origin', () => {
  it('chooses the most accurate model expected within the budget, and says so', async () => {
    const response = await classify(origin.url, image, 'latency_budget_ms=600000');
    expect(response.status).toBe(200);
    const body = ClassifyResponseSchema.parse(await response.json());
    expect(body.model).toBe('efficientnet-b1');
    // p95 4000 + the window a lone request waits.
    expect(body.selection).toMatchObject({
      budget_ms: 600_000,
      expected_ms: 4000 + WINDOW_MS,
      budget_met: true,
    });
    expect(body.selection?.reason).toContain('efficientnet-b1');
  });

  it('takes the faster model when the accurate one cannot fit', async () => {
    const response = await classify(origin.url, image, 'latency_budget_ms=2000');
    expect(response.status).toBe(200);
    const body = ClassifyResponseSchema.parse(await response.json());
    expect(body.model).toBe('efficientnet-b0');
    expect(body.selection).toMatchObject({ budget_ms: 2000, expected_ms: 40 + WINDOW_MS, budget_met: true });
  });

  it('refuses at once with 504 when no model is expected in time, counting the queue wait', async () => {
    // B0's p95 alone (40 ms) fits 200 ms; with the batching window ahead of it, it does not.
    const started = performance.now();
    const response = await classify(origin.url, image, 'latency_budget_ms=200');
    const envelope = await expectError(response, 504, 'deadline_exceeded');
    expect(performance.now() - started).toBeLessThan(WINDOW_MS + 2000);
    expect(envelope.error.message).toMatch(
      /latency budget of 200 ms.*efficientnet-b0: p95 40 ms \+ queue wait 300 ms/,
    );
  });

  it('is a deadline: the tighter of it and x-deadline-ms applies', async () => {
    // The budget alone would fit B0, but the caller has only 100 ms left.
    const response = await classify(origin.url, image, 'latency_budget_ms=2000', { 'x-deadline-ms': '100' });
    await expectError(response, 504, 'deadline_exceeded');
  });

  it.each([
    ['model=efficientnet-b0&latency_budget_ms=1000', /either latency_budget_ms or model/],
    ['tier=fast&latency_budget_ms=1000', /tier=fast fixes the model/],
    ['latency_budget_ms=0', /latency_budget_ms/],
    ['latency_budget_ms=soon', /latency_budget_ms/],
  ])('%s is a 400 with the envelope', async (query, message) => {
    const envelope = await expectError(await classify(origin.url, image, query), 400, 'invalid_parameter');
    expect(envelope.error.message).toMatch(message);
  });
});
