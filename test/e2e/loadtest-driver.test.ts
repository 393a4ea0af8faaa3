// The load test's driver (infra/loadtest/drive.ts) against a real HTTP server on loopback: it must keep
// its arrival rate when answers are slow (open model), record status, Retry-After and the classification
// flags, and call a request that never answers a hang instead of waiting for it. The product itself is
// measured by `npm run loadtest`, which takes minutes; this checks the instrument in seconds.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offer } from '../../infra/loadtest/drive.ts';
import { percentile, summarise } from '../../infra/loadtest/stats.ts';

let server: Server;
let base: string;
const received: { at: number; bytes: number; type: string | undefined }[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    received.push({ at: performance.now(), bytes, type: req.headers['content-type'] });
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/slow') {
      setTimeout(() => json(200, { model: 'm', escalated: true }), 1500);
    } else if (url.pathname === '/shed') {
      json(429, { error: { code: 'queue_full', message: 'full' } }, { 'retry-after': '3' });
    } else if (url.pathname === '/degraded') {
      json(200, { model: 'm', degraded: true, degraded_reason: 'origin_unreachable' });
    } else if (url.pathname === '/hang') {
      // Never answers.
    } else {
      json(503, { error: { code: 'origin_unavailable', message: 'unavailable (origin_circuit_open)' } });
    }
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const body = new Uint8Array(1000).fill(7);
const common = { body, contentType: 'image/jpeg', drainMs: 3000 };

describe('open-model driver', () => {
  it('keeps the offered rate while every answer takes longer than the gap between requests', async () => {
    received.length = 0;
    // 1.5 s answers at 8 rps: a closed loop of one connection would manage under 1 rps.
    const records = await offer({ ...common, url: `${base}/slow`, rate: 8, seconds: 3 });
    // 3 s at 8 rps is 24 sends; timer start-up and stop may cost one or two.
    expect(records.length).toBeGreaterThanOrEqual(22);
    expect(records.length).toBeLessThanOrEqual(26);
    expect(received).toHaveLength(records.length);
    expect(received.every((r) => r.bytes === 1000 && r.type === 'image/jpeg')).toBe(true);
    // Every answer arrived (after the drain), each about 1.5 s late.
    expect(records.every((r) => r.status === 200 && r.escalated === true)).toBe(true);
    expect(
      percentile(
        records.map((r) => r.latencyMs),
        50,
      ),
    ).toBeGreaterThanOrEqual(1500);
    // Sends spread over the window rather than bunching at the start.
    const sent = records.map((r) => r.sentAtMs).sort((a, b) => a - b);
    expect(sent.at(-1)).toBeGreaterThan(2500);
  }, 20_000);

  it('records 429 with Retry-After, 5xx with the reason and degraded flags', async () => {
    const shed = await offer({ ...common, url: `${base}/shed`, sequential: 3 });
    const failed = await offer({ ...common, url: `${base}/fail`, sequential: 2 });
    const degraded = await offer({ ...common, url: `${base}/degraded`, sequential: 2 });
    const summary = summarise([...shed, ...failed, ...degraded], 1, 1);
    expect(summary).toMatchObject({
      sent: 7,
      ok: 2,
      shed_429: 3,
      shed_without_retry_after: 0,
      errors_5xx: 2,
      errors_5xx_by_code: { '503 origin_unavailable (origin_circuit_open)': 2 },
      hung: 0,
    });
    expect(shed.every((r) => r.retryAfter === '3')).toBe(true);
    expect(degraded.every((r) => r.degraded === true && r.degradedReason === 'origin_unreachable')).toBe(
      true,
    );
  }, 20_000);

  it('calls a request that outlasts the drain window a hang, and connection errors failures', async () => {
    const hung = await offer({ ...common, url: `${base}/hang`, sequential: 1, seconds: 1, drainMs: 500 });
    expect(hung).toHaveLength(1);
    expect(hung[0]).toMatchObject({ status: 0, failure: 'hang' });
    // A port nobody listens on: bind one, close it, aim there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const refused = await offer({ ...common, url: `http://127.0.0.1:${port}/x`, rate: 4, seconds: 1 });
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.failure === 'connection' && r.status === 0)).toBe(true);
  }, 20_000);
});
