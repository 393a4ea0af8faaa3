import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../../shared/http/errors.ts';

export interface BodyLimitOptions {
  /** Largest accepted body in bytes, looked up per request (settings live in c.env). */
  maxBytes: (c: Context) => number;
}

export type BodyVariables = { body: Uint8Array };

/**
 * Not hono's bodyLimit: the limit is a setting, so it is read from c.env per request, and the bytes are
 * kept for the handler (which needs them whole anyway) instead of being streamed past.
 *
 * Reads the request body into memory, refusing it with 413 before reading when Content-Length is too big
 * and while reading when a streamed body grows past the limit. The bytes are stored in `c.var.body` and
 * the request is rebuilt around them, so later validators can parse it again.
 */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler<{ Variables: BodyVariables }> {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const max = options.maxBytes(c);
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      if (!/^\d+$/.test(declared.trim()))
        throw new ApiError('invalid_request', 'Content-Length is not a number.');
      if (Number(declared) > max) throw tooLarge(max);
    }
    const bytes = c.req.raw.body ? await readAtMost(c.req.raw.body, max) : new Uint8Array(0);
    c.set('body', bytes);
    c.req.raw = new Request(c.req.raw, { body: bytes });
    await next();
  };
}

/**
 * After refusing a body, read and drop up to this much more of it before answering: a client that is
 * still sending then gets the 413 on a connection that stays usable (wrangler's local proxy otherwise
 * fails the request). Past this, reading stops.
 */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<void> {
  let dropped = 0;
  try {
    while (dropped <= limit) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing left to answer on.
  }
}

function tooLarge(max: number): ApiError {
  return new ApiError('payload_too_large', `Request body exceeds the ${max}-byte limit.`);
}

async function readAtMost(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await discardRest(reader, DRAIN_LIMIT_BYTES);
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
