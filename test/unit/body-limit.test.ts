import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { type BodyVariables, bodyLimit } from '../../edge/http/body-limit.ts';
import { errorHandler } from '../../shared/http/errors.ts';

// The body-limit middleware in process: one copy of a raw upload, a re-parsable request only where a
// validator needs it, and precise 4xx answers for bodies over the limit or longer than declared.

const MAX = 1000;

function app() {
  const hono = new Hono<{ Variables: BodyVariables }>();
  hono.onError(errorHandler({ log: () => {} }));
  hono.use(
    bodyLimit({
      maxBytes: () => MAX,
      reparsed: (c) => c.req.header('content-type') === 'application/json',
    }),
  );
  hono.post('/', async (c) => {
    const raw = c.req.header('content-type') === 'application/json' ? await c.req.json() : null;
    return c.json({ length: c.var.body.byteLength, sum: c.var.body.reduce((a, b) => a + b, 0), raw });
  });
  return hono;
}

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);
const sum = (b: Uint8Array) => b.reduce((a, x) => a + x, 0);

/** A body delivered as a plain (not byte) stream in chunks of `size` bytes. */
function chunked(body: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= body.byteLength) return controller.close();
      controller.enqueue(body.slice(at, at + size));
      at += size;
    },
  });
}

function post(body: BodyInit, headers: Record<string, string>) {
  return app().request('/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

describe('bodyLimit', () => {
  it('keeps a raw body of declared length whole, from a byte stream or from chunks', async () => {
    const body = bytes(900);
    for (const sent of [body, chunked(body, 64)]) {
      const res = await post(sent, { 'content-type': 'image/jpeg', 'content-length': '900' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ length: 900, sum: sum(body), raw: null });
    }
  });

  it('joins a body of unknown length and still enforces the limit while reading', async () => {
    const ok = await post(chunked(bytes(700), 100), { 'content-type': 'image/jpeg' });
    expect(await ok.json()).toEqual({ length: 700, sum: sum(bytes(700)), raw: null });
    const big = await post(chunked(bytes(1500), 100), { 'content-type': 'image/jpeg' });
    expect(big.status).toBe(413);
  });

  it('refuses a declared length over the limit before reading, and a body longer than declared', async () => {
    const declared = await post(bytes(10), { 'content-type': 'image/jpeg', 'content-length': '5000' });
    expect(declared.status).toBe(413);
    const longer = await post(chunked(bytes(600), 100), {
      'content-type': 'image/jpeg',
      'content-length': '300',
    });
    expect(longer.status).toBe(400);
    expect(((await longer.json()) as { error: { message: string } }).error.message).toContain(
      'longer than its Content-Length',
    );
  });

  it('returns a body shorter than declared as what arrived', async () => {
    const res = await post(chunked(bytes(200), 64), {
      'content-type': 'image/jpeg',
      'content-length': '500',
    });
    expect(await res.json()).toEqual({ length: 200, sum: sum(bytes(200)), raw: null });
  });

  it('reads a body of declared length into the buffer `allocate` provides, from a byte stream or chunks', async () => {
    const body = bytes(900);
    for (const sent of [body, chunked(body, 64), chunked(body, 1000)]) {
      // A view into a larger buffer, as a decoder heap would give: a byte reader must not transfer it.
      const heap = new Uint8Array(4096);
      const hono = new Hono<{ Variables: BodyVariables }>();
      hono.onError(errorHandler({ log: () => {} }));
      hono.use(
        bodyLimit({
          maxBytes: () => MAX,
          reparsed: () => false,
          allocate: (_c, n) => heap.subarray(100, 100 + n),
        }),
      );
      hono.post('/', (c) => c.json({ inHeap: c.var.body.buffer === heap.buffer, sum: sum(c.var.body) }));
      const res = await hono.request('/', {
        method: 'POST',
        body: sent,
        headers: { 'content-type': 'image/jpeg', 'content-length': '900' },
        duplex: 'half',
      } as RequestInit);
      expect(await res.json()).toEqual({ inHeap: true, sum: sum(body) });
      expect(sum(heap.subarray(100, 1000))).toBe(sum(body));
      const longer = await hono.request('/', {
        method: 'POST',
        body: chunked(bytes(1000), 100),
        headers: { 'content-type': 'image/jpeg', 'content-length': '900' },
        duplex: 'half',
      } as RequestInit);
      expect(longer.status).toBe(400);
    }
  });

  it('rebuilds the request for a body that a validator parses again', async () => {
    const json = new TextEncoder().encode(JSON.stringify({ image: 'aGk=' }));
    const res = await post(json, {
      'content-type': 'application/json',
      'content-length': String(json.length),
    });
    expect(await res.json()).toEqual({ length: json.length, sum: sum(json), raw: { image: 'aGk=' } });
  });
});
