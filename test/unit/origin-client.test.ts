import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../edge/origin/breaker.ts';
import { createOriginClient, OriginConfigError } from '../../edge/origin/client.ts';
import type { ClassifyResponse } from '../../shared/api/classify.ts';
import { DEADLINE_HEADER } from '../../shared/http/deadline.ts';
import { createVerifier } from '../../shared/signing/index.ts';

// The origin client against a real HTTP server on 127.0.0.1 that verifies signatures with shared/signing.

const KEY_ID = 'edge-1';
const SECRET = 'test-secret-that-is-at-least-32-characters';
const IMAGE = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]);

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  body: Uint8Array;
  signature: 'valid' | string;
}

type Behaviour = (req: Seen, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let seen: Seen[] = [];
let connections = 0;
let dropConnections = 0;
let behaviour: Behaviour;

const verifier = createVerifier({ keys: new Map([[KEY_ID, SECRET]]) });

function classification(req: Seen): ClassifyResponse {
  const url = new URL(req.url, 'http://x');
  return {
    request_id: String(req.headers['x-request-id']),
    model: url.searchParams.get('model') ?? '?',
    tier: 'accurate',
    weights: 'untrained',
    // Derived from the bytes received, so the test sees the body arrive intact.
    predictions: [
      { index: req.body.length, label: `sum-${req.body.reduce((a, b) => a + b, 0)}`, score: 0.9 },
    ],
    timings_ms: { decode: 1, preprocess: 1, inference: 1, total: 3 },
  };
}

const answerOk: Behaviour = (req, res) => {
  if (req.signature !== 'valid') return sendJson(res, 401, envelope('unauthorized', req.signature));
  sendJson(res, 200, classification(req));
};

function envelope(code: string, message: string) {
  return { error: { code, message, request_id: 'origin-rid' } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  // No keep-alive: every call opens its own connection, so connection counts and drops are exact.
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = new Uint8Array(Buffer.concat(chunks));
    const url = req.url ?? '/';
    const result = await verifier.verify({
      method: req.method ?? 'GET',
      pathWithQuery: url,
      body,
      header: (name) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
    });
    const entry: Seen = { url, headers: req.headers, body, signature: result.ok ? 'valid' : result.reason };
    seen.push(entry);
    behaviour(entry, res);
  });
  // Dropping a fresh connection before any HTTP exchange is what a refused or reset connection looks like.
  server.on('connection', (socket) => {
    connections++;
    if (dropConnections > 0) {
      dropConnections--;
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  connections = 0;
  dropConnections = 0;
  behaviour = answerOk;
});

/** A port that was just listening and is now closed: connecting to it is refused. */
async function deadPort(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function client(overrides: Partial<Parameters<typeof createOriginClient>[0]> = {}) {
  return createOriginClient({ baseUrl, keyId: KEY_ID, secret: SECRET, retryDelayMs: 5, ...overrides });
}

const call = (budgetMs = 5_000) => ({
  model: 'efficientnet-b5' as const,
  top_k: 3,
  requestId: 'rid-123',
  deadlineMs: Date.now() + budgetMs,
});

describe('origin client: requests', () => {
  it('sends a signed POST that the origin verifies, with params, deadline and request id', async () => {
    const result = await client().classify(IMAGE, 'image/jpeg', call(5_000));
    expect(seen).toHaveLength(1);
    const req = seen[0];
    if (!req) throw new Error('the origin saw no request');
    expect(req.signature).toBe('valid');
    expect(req.url).toBe('/v1/classify?model=efficientnet-b5&top_k=3');
    expect(req.headers['content-type']).toBe('image/jpeg');
    expect(req.headers['x-request-id']).toBe('rid-123');
    expect(Array.from(req.body)).toEqual(Array.from(IMAGE));
    const deadline = Number(req.headers[DEADLINE_HEADER]);
    // Remaining budget, not the absolute deadline: at most the 5 s given, and not much less.
    expect(deadline).toBeGreaterThan(4_000);
    expect(deadline).toBeLessThanOrEqual(5_000);

    expect(result.ok).toBe(true);
    if (!result.ok) throw new Error(result.message);
    expect(result.attempts).toBe(1);
    expect(result.response.model).toBe('efficientnet-b5');
    expect(result.response.predictions[0]).toEqual({
      index: IMAGE.length,
      label: `sum-${IMAGE.reduce((a, b) => a + b, 0)}`,
      score: 0.9,
    });
  });

  it('a wrong secret is refused by the origin and reported as unavailable, with its envelope', async () => {
    const result = await client({ secret: 'another-secret-of-at-least-32-characters' }).classify(
      IMAGE,
      'image/png',
      call(),
    );
    expect(seen[0]?.signature).toBe('bad_signature');
    expect(result).toMatchObject({ ok: false, kind: 'unavailable', status: 401, attempts: 1 });
    if (result.ok) throw new Error('unreachable');
    expect(result.envelope?.error.code).toBe('unauthorized');
  });

  it('keeps a base path prefix', async () => {
    behaviour = (req, res) => sendJson(res, 200, classification(req));
    await client({ baseUrl: `${baseUrl}/gateway/` }).classify(IMAGE, 'image/png', call());
    expect(seen[0]?.url.startsWith('/gateway/v1/classify?')).toBe(true);
    expect(seen[0]?.signature).toBe('valid');
  });

  it('refuses a bad configuration at construction', () => {
    expect(() => client({ baseUrl: 'not a url' })).toThrow(OriginConfigError);
    expect(() => client({ baseUrl: 'ftp://x' })).toThrow(/http/);
    expect(() => client({ baseUrl: `${baseUrl}?a=1` })).toThrow(/query/);
    expect(() => client({ secret: '' })).toThrow(/secret/);
  });
});

describe('origin client: failures and retries', () => {
  it('retries once when the connection is refused, then reports connect', async () => {
    let fetches = 0;
    const counting: typeof fetch = (input, init) => {
      fetches++;
      return fetch(input, init);
    };
    const result = await client({ baseUrl: await deadPort(), fetch: counting }).classify(
      IMAGE,
      'image/png',
      call(),
    );
    expect(result).toMatchObject({ ok: false, kind: 'connect', attempts: 2 });
    expect(fetches).toBe(2);
  });

  it('a retry after a dropped connection reaches the origin and succeeds', async () => {
    dropConnections = 1;
    const result = await client().classify(IMAGE, 'image/png', call());
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect(connections).toBe(2);
    // Only the second attempt arrived, signed afresh so the replay check passes.
    expect(seen.map((s) => s.signature)).toEqual(['valid']);
  });

  it('does not retry an HTTP 500, and passes Retry-After on', async () => {
    behaviour = (_req, res) => sendJson(res, 500, envelope('internal', 'boom'), { 'retry-after': '9' });
    const result = await client().classify(IMAGE, 'image/png', call());
    expect(result).toMatchObject({
      ok: false,
      kind: 'unavailable',
      status: 500,
      attempts: 1,
      retryAfterS: 9,
    });
    expect(seen).toHaveLength(1);
  });

  it('reports a rejected input (422) with the origin envelope, and the breaker does not count it', async () => {
    behaviour = (_req, res) => sendJson(res, 422, envelope('invalid_image', 'cannot decode'));
    const c = client({ breaker: { failureThreshold: 1 } });
    const result = await c.classify(IMAGE, 'image/png', call());
    expect(result).toMatchObject({ ok: false, kind: 'rejected', status: 422 });
    if (result.ok) throw new Error('unreachable');
    expect(result.envelope?.error).toMatchObject({ code: 'invalid_image', message: 'cannot decode' });
    expect(c.breaker.state).toBe('closed');
  });

  it('reports a 429 as busy with its envelope and Retry-After, without retrying', async () => {
    behaviour = (_req, res) =>
      sendJson(res, 429, envelope('queue_full', 'queue full'), { 'retry-after': '3' });
    const result = await client().classify(IMAGE, 'image/png', call());
    expect(result).toMatchObject({ ok: false, kind: 'busy', status: 429, attempts: 1, retryAfterS: 3 });
    if (result.ok) throw new Error('unreachable');
    expect(result.envelope?.error.code).toBe('queue_full');
    expect(seen).toHaveLength(1);
  });

  it('a 503 that names queue_full is still an outage, not shedding: only the 429 status is busy', async () => {
    behaviour = (_req, res) => sendJson(res, 503, envelope('queue_full', 'busy'), { 'retry-after': '2' });
    expect(await client().classify(IMAGE, 'image/png', call())).toMatchObject({
      kind: 'unavailable',
      retryAfterS: 2,
    });
  });

  it('a 2xx that is not a classification is a bad response', async () => {
    behaviour = (_req, res) => sendJson(res, 200, { hello: 'world' });
    expect(await client().classify(IMAGE, 'image/png', call())).toMatchObject({
      ok: false,
      kind: 'bad_response',
      attempts: 1,
    });
  });

  it("the origin's own 504 is a timeout", async () => {
    behaviour = (_req, res) => sendJson(res, 504, envelope('deadline_exceeded', 'too slow'));
    expect(await client().classify(IMAGE, 'image/png', call())).toMatchObject({
      ok: false,
      kind: 'timeout',
      status: 504,
    });
  });

  it('aborts at the deadline, does not retry, and counts the timeout as a failure', async () => {
    behaviour = (req, res) => {
      const timer = setTimeout(() => sendJson(res, 200, classification(req)), 3_000);
      res.on('close', () => clearTimeout(timer));
    };
    const c = client();
    const started = Date.now();
    const result = await c.classify(IMAGE, 'image/png', call(200));
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ ok: false, kind: 'timeout', attempts: 1 });
    // Abort at ~200 ms; the bound leaves room for a loaded machine but is far below the 3 s reply.
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2_000);
    expect(seen).toHaveLength(1);
    expect(c.breaker.failures).toBe(1);
  });

  it('does not call the origin when the deadline has already passed', async () => {
    const result = await client().classify(IMAGE, 'image/png', { ...call(), deadlineMs: Date.now() - 1 });
    expect(result).toMatchObject({ ok: false, kind: 'timeout', attempts: 0 });
    expect(connections).toBe(0);
  });
});

describe('origin client: circuit breaker', () => {
  it('opens after N failures, then fails fast without calling the origin', async () => {
    behaviour = (_req, res) => sendJson(res, 503, envelope('queue_full', 'busy'));
    const c = client({ breaker: { failureThreshold: 3, cooldownMs: 60_000 } });
    for (let i = 0; i < 3; i++)
      expect(await c.classify(IMAGE, 'image/png', call())).toMatchObject({ kind: 'unavailable' });
    expect(c.breaker.state).toBe('open');
    expect(seen).toHaveLength(3);

    const fast = await c.classify(IMAGE, 'image/png', call());
    expect(fast).toMatchObject({ ok: false, kind: 'circuit_open', attempts: 0 });
    if (fast.ok) throw new Error('unreachable');
    expect(fast.retryAfterS).toBeGreaterThan(59);
    expect(fast.retryAfterS).toBeLessThanOrEqual(60);
    expect(seen).toHaveLength(3);
    expect(connections).toBeLessThanOrEqual(3);
  });

  it('a shedding origin (429) never opens it: the origin is up, only full', async () => {
    behaviour = (_req, res) => sendJson(res, 429, envelope('queue_full', 'full'), { 'retry-after': '1' });
    const c = client({ breaker: { failureThreshold: 2, cooldownMs: 60_000 } });
    for (let i = 0; i < 5; i++)
      expect(await c.classify(IMAGE, 'image/png', call())).toMatchObject({ kind: 'busy', attempts: 1 });
    expect(c.breaker.state).toBe('closed');
    expect(c.breaker.failures).toBe(0);
    expect(seen).toHaveLength(5);
  });

  it('a 429 between outage failures breaks the run of consecutive failures', async () => {
    const c = client({ breaker: { failureThreshold: 2, cooldownMs: 60_000 } });
    behaviour = (_req, res) => sendJson(res, 500, envelope('internal', 'down'));
    await c.classify(IMAGE, 'image/png', call());
    expect(c.breaker.failures).toBe(1);
    behaviour = (_req, res) => sendJson(res, 429, envelope('queue_full', 'full'));
    await c.classify(IMAGE, 'image/png', call());
    expect(c.breaker.failures).toBe(0);
    behaviour = (_req, res) => sendJson(res, 500, envelope('internal', 'down'));
    await c.classify(IMAGE, 'image/png', call());
    expect(c.breaker.state).toBe('closed');
  });

  it('connection failures count too, once per call (the retry is part of the call)', async () => {
    const c = client({ baseUrl: await deadPort(), breaker: { failureThreshold: 2 } });
    await c.classify(IMAGE, 'image/png', call());
    expect(c.breaker.failures).toBe(1);
    await c.classify(IMAGE, 'image/png', call());
    expect(c.breaker.state).toBe('open');
  });

  it('after the cooldown a probe that succeeds closes it; one that fails re-opens it', async () => {
    const clock = { t: 0 };
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1_000, now: () => clock.t });
    const c = client({ breaker });
    behaviour = (_req, res) => sendJson(res, 500, envelope('internal', 'down'));
    await c.classify(IMAGE, 'image/png', call());
    await c.classify(IMAGE, 'image/png', call());
    expect(breaker.state).toBe('open');

    clock.t += 1_000;
    expect(breaker.state).toBe('half-open');
    await c.classify(IMAGE, 'image/png', call());
    expect(seen).toHaveLength(3);
    expect(breaker.state).toBe('open');

    clock.t += 1_000;
    behaviour = answerOk;
    const probe = await c.classify(IMAGE, 'image/png', call());
    expect(probe.ok).toBe(true);
    expect(breaker.state).toBe('closed');
    expect(seen).toHaveLength(4);
  });

  it('a half-open probe that the origin sheds (429) closes it: the origin answered', async () => {
    const clock = { t: 0 };
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1_000, now: () => clock.t });
    const c = client({ breaker });
    behaviour = (_req, res) => sendJson(res, 500, envelope('internal', 'down'));
    await c.classify(IMAGE, 'image/png', call());
    expect(breaker.state).toBe('open');
    clock.t += 1_000;
    behaviour = (_req, res) => sendJson(res, 429, envelope('queue_full', 'full'), { 'retry-after': '1' });
    expect(await c.classify(IMAGE, 'image/png', call())).toMatchObject({ kind: 'busy' });
    expect(breaker.state).toBe('closed');
  });

  it('while a probe is in flight, other calls fail fast', async () => {
    const clock = { t: 0 };
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1_000, now: () => clock.t });
    const c = client({ breaker });
    behaviour = (_req, res) => sendJson(res, 500, envelope('internal', 'down'));
    await c.classify(IMAGE, 'image/png', call());
    clock.t += 1_000;
    let release: () => void = () => {};
    behaviour = (req, res) => {
      release = () => sendJson(res, 200, classification(req));
    };
    const probe = c.classify(IMAGE, 'image/png', call());
    for (let i = 0; i < 400 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(seen).toHaveLength(2);
    expect(await c.classify(IMAGE, 'image/png', call())).toMatchObject({ kind: 'circuit_open', attempts: 0 });
    release();
    expect((await probe).ok).toBe(true);
    expect(breaker.state).toBe('closed');
  });
});
