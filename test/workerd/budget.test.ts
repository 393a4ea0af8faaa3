// latency_budget_ms in real workerd with an origin that does not answer, and the committed profiles
// (profiles/*.json) in local R2 as a deploy uploads them: edge B0 p95 440.9 ms, B1 1039.5 ms; origin B5
// 4474 ms, B7 16539 ms. Bad input is refused before any origin call. Without an origin (the budget picks
// among the edge models): test/workerd/classify.test.ts.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestPhoto, testPhoto } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker, REPO_ROOT } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { type ClassifyResponse, ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { ErrorEnvelopeSchema } from '../../shared/api/errors.ts';

let deadOrigin: BootedWorker;
let photo: TestPhoto;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  const models = await testModels();
  photo = await testPhoto();
  const profiles = [
    { runtime: 'edge' as const, file: join(REPO_ROOT, 'profiles/edge.json') },
    { runtime: 'origin' as const, file: join(REPO_ROOT, 'profiles/origin.json') },
  ];
  deadOrigin = await bootWorker({
    models: [models.b0, models.b1Split],
    profiles,
    vars: {
      ALLOW_OPEN_API: '1',
      ORIGIN_URL: `http://127.0.0.1:${await closedPort()}`,
      ORIGIN_KEY_ID: 'test-key',
      ORIGIN_TIMEOUT_MS: '2000',
    },
    secrets: { ORIGIN_SECRET: 'test-secret-of-some-length-0123456789' },
  });
});
afterAll(async () => {
  await deadOrigin?.dispose();
});

function classify(worker: BootedWorker, query: string): Promise<Response> {
  return worker.fetch(`/v1/classify${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: photo.bytes,
  });
}

async function ok(response: Response): Promise<ClassifyResponse> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return ClassifyResponseSchema.parse(JSON.parse(text));
}

describe('latency_budget_ms with an origin that does not answer', () => {
  it('chooses B7 by the profile, then degrades to the best edge model with the reason', async () => {
    const body = await ok(await classify(deadOrigin, '?latency_budget_ms=600000'));
    expect(body.model).toBe('efficientnet-b1');
    expect(body.degraded).toBe(true);
    expect(body.degraded_reason).toBe('origin_unreachable');
    expect(body.selection?.reason).toMatch(/^efficientnet-b7 on the origin failed \(origin_unreachable\)/);
    expect(body.selection?.budget_met).toBe(true);
  });
});

describe('latency_budget_ms bad input', () => {
  const cases: [string, RegExp][] = [
    ['?latency_budget_ms=0', /latency_budget_ms/],
    ['?latency_budget_ms=600001', /latency_budget_ms/],
    ['?latency_budget_ms=abc', /latency_budget_ms/],
    ['?latency_budget_ms=1.5', /latency_budget_ms/],
    ['?latency_budget_ms=100&tier=fast', /tier=fast/],
    ['?latency_budget_ms=100&tier=max', /tier=max/],
    ['?latency_budget_ms=100&model=efficientnet-b0', /either latency_budget_ms or model/],
  ];
  for (const [query, message] of cases)
    it(`${query} is a 400 invalid_parameter`, async () => {
      const response = await classify(deadOrigin, query);
      expect(response.status).toBe(400);
      const envelope = ErrorEnvelopeSchema.parse(await response.json());
      expect(envelope.error.code).toBe('invalid_parameter');
      expect(envelope.error.message).toMatch(message);
    });

  it('documents the parameter and the selection in the generated OpenAPI', async () => {
    const doc = JSON.stringify(await (await deadOrigin.fetch('/openapi.json')).json());
    for (const field of ['latency_budget_ms', 'budget_met', 'expected_ms']) expect(doc).toContain(field);
  });
});
