import type { Context, MiddlewareHandler } from 'hono';
import { joinChunks } from '../../shared/http/chunks.ts';
import { ApiError } from '../../shared/http/errors.ts';

export interface BodyLimitOptions {
  /** Largest accepted body in bytes, looked up per request (settings live in c.env). */
  maxBytes: (c: Context) => number;
  /**
   * Whether a later validator parses the body again (JSON, forms), so the request must be rebuilt around
   * the bytes. Default: always. A raw upload answers false: rebuilding would copy it once more.
   */
  reparsed?: (c: Context) => boolean;
  /**
   * Where a body of declared length is read into; default: a new ArrayBuffer of that length. An image
   * upload can go straight into a decoder's WASM heap (edge/image/jpeg-turbo.ts codecHeapBuffer), so that
   * it is held once. Called only after the length passed the limit; undefined means the default.
   */
  allocate?: (c: Context, length: number) => Uint8Array | undefined;
}

export type BodyVariables = { body: Uint8Array };

/**
 * Not hono's bodyLimit: the limit is a setting, so it is read from c.env per request, and the bytes are
 * kept for the handler (which needs them whole anyway) instead of being streamed past.
 *
 * Reads the request body into memory, refusing it with 413 before reading when Content-Length is too big
 * and while reading when a streamed body grows past the limit. The bytes are stored in `c.var.body`, held
 * once: with a Content-Length they are read straight into one buffer of that size. The request is rebuilt
 * around them only where a later validator parses the body again.
 */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler<{ Variables: BodyVariables }> {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const max = options.maxBytes(c);
    const declared = c.req.header('content-length');
    let length: number | undefined;
    if (declared !== undefined) {
      if (!/^\d+$/.test(declared.trim()))
        throw new ApiError('invalid_request', 'Content-Length is not a number.');
      length = Number(declared);
      if (length > max) throw tooLarge(max);
    }
    const body = c.req.raw.body;
    let bytes: Uint8Array = new Uint8Array(0);
    if (body && length === undefined) bytes = await readAtMost(body, max);
    else if (body && length !== undefined) {
      const into = options.allocate?.(c, length);
      bytes = into ? await readInto(body, into) : await readDeclared(body, length);
    }
    c.set('body', bytes);
    if (options.reparsed?.(c) ?? true)
      c.req.raw = new Request(c.req.raw, { body: bytes as Uint8Array<ArrayBuffer> });
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

function longerThanDeclared(): ApiError {
  return new ApiError('invalid_request', 'The request body is longer than its Content-Length.');
}

/**
 * A body of known length, read into one buffer of that size: a byte reader fills it in place, a plain
 * reader's chunks are copied in and dropped one by one. A shorter body is returned as what arrived.
 */
async function readDeclared(stream: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream: read its chunks below.
  }
  if (byob) {
    let buffer = new ArrayBuffer(length);
    let filled = 0;
    while (filled < length) {
      const { done, value } = await byob.read(new Uint8Array(buffer, filled, length - filled));
      if (!value) break;
      buffer = value.buffer as ArrayBuffer; // the view we passed was transferred
      filled += value.byteLength;
      if (done) break;
    }
    const extra = await byob.read(new Uint8Array(1));
    if (!extra.done) {
      await byob.cancel();
      throw longerThanDeclared();
    }
    return new Uint8Array(buffer, 0, filled);
  }
  return readInto(stream, new Uint8Array(length));
}

/** Bounce buffer size for reading into a caller's buffer: small, and reused for every chunk. */
const BOUNCE_BYTES = 64 * 1024;

/**
 * A body of known length, read into a buffer the caller provides. A view into a WASM memory cannot be
 * handed to a byte reader (it would transfer the buffer), so a byte stream is read through one small
 * bounce buffer, reused for every chunk: a plain reader would leave every chunk behind as garbage, as
 * much again as the body until the collector runs. A plain stream's chunks are copied in one by one.
 */
async function readInto(stream: ReadableStream<Uint8Array>, out: Uint8Array): Promise<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream: read its chunks below.
  }
  let filled = 0;
  if (byob) {
    let bounce = new ArrayBuffer(BOUNCE_BYTES);
    for (;;) {
      const { done, value } = await byob.read(new Uint8Array(bounce));
      if (value) {
        if (filled + value.byteLength > out.length) {
          await byob.cancel();
          throw longerThanDeclared();
        }
        out.set(value, filled);
        filled += value.byteLength;
        bounce = value.buffer as ArrayBuffer; // the view we passed was transferred
      }
      if (done || !value) break;
    }
    return filled === out.length ? out : out.subarray(0, filled);
  }
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (filled + value.byteLength > out.length) {
      await discardRest(reader, DRAIN_LIMIT_BYTES);
      throw longerThanDeclared();
    }
    out.set(value, filled);
    filled += value.byteLength;
  }
  return filled === out.length ? out : out.subarray(0, filled);
}

/** A body of unknown length: its chunks are joined once and then let go. */
async function readAtMost(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array<ArrayBuffer>> {
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
  return joinChunks(chunks, total);
}
