// infra/dev/workerd.ts: bootWorker returns a Worker whose own runtime has started, not only wrangler's
// dev proxy in front of it (a first request sent earlier waited for workerd to start, which benchmarks
// then counted as the Worker's first request), and both ways in reach the same Worker.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';

let worker: BootedWorker;

beforeAll(async () => {
  worker = await bootWorker({ logLevel: 'none' });
});
afterAll(async () => {
  await worker?.dispose();
});

it('returns once the runtime is up, with its start timed', async () => {
  const pending = Symbol('pending');
  const settled = (p: Promise<unknown>) => Promise.race([p, Promise.resolve(pending)]);
  expect(await settled(worker.directUrl)).toBeInstanceOf(URL);
  const readyMs = await settled(worker.startup.runtimeReadyMs);
  const startMs = await settled(worker.startup.runtimeStartMs);
  expect(readyMs).toBeGreaterThan(0);
  expect(startMs).toBeGreaterThan(0);
  expect(startMs as number).toBeLessThanOrEqual(readyMs as number);
  expect(worker.startup.proxyReadyMs).toBeGreaterThan(0);
});

it('answers the same through the dev proxy and on its own socket', async () => {
  const direct = new URL(await worker.directUrl);
  expect(direct.hostname).toBe('127.0.0.1');
  expect(direct.port).not.toBe(worker.url.port);
  for (const send of [worker.fetch, worker.fetchDirect]) {
    const response = await send('/healthz', { headers: { 'x-request-id': 'boot-test-1' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('boot-test-1');
    expect(await response.json()).toEqual({ status: 'ok' });
  }
});
