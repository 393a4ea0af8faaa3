// Offers load with the `loadtest` package and records every request it sends, by itself.
//
// Open model: with requestsPerSecond, loadtest starts a request every 1/rate seconds whether or not earlier
// ones have answered, so a slow server sees the same arrival rate as a fast one (a closed loop of N
// connections would slow its own offer down as latency grows and hide queueing). The record is taken from
// the request objects loadtest creates, not from its summary: its summary drops requests still in flight
// when the run stops, and those are exactly the ones that would show a hang.
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { loadTest } from 'loadtest';

// The package's own typings predate its promise API.
const runLoadTest = loadTest as unknown as (options: Record<string, unknown>) => Promise<unknown>;

export interface RequestRecord {
  /** ms since the phase started. */
  sentAtMs: number;
  /** ms from send to the last byte of the answer; for a hang or error, until it was given up. */
  latencyMs: number;
  /** HTTP status; 0 when no answer came (connection error, hang). */
  status: number;
  retryAfter: string | null;
  /** Fields of a classification answer, when the body is one. */
  degraded?: boolean;
  degradedReason?: string;
  escalated?: boolean;
  model?: string;
  /** The answer's timings_ms.total: time inside the edge's handler. */
  handlerMs?: number;
  errorCode?: string;
  /** The error envelope's message, or the start of a body that is not JSON. */
  errorMessage?: string;
  /** No answer: a connection error, or still open when the drain window closed. */
  failure?: 'connection' | 'hang';
}

export interface OfferOptions {
  /** Full URL including the query, e.g. http://127.0.0.1:8787/v1/classify?tier=accurate */
  url: string;
  body: Uint8Array;
  contentType: string;
  /** Open model: requests per second (fractional rates are fine) for `seconds`. */
  rate?: number;
  seconds?: number;
  /** Closed model instead: this many requests, one at a time (the unloaded baseline); `seconds` caps it. */
  sequential?: number;
  /** After the offer ends, how long to wait for answers still in flight before calling them hung. */
  drainMs: number;
  headers?: Record<string, string>;
}

interface LoadTestParams extends RequestOptions {
  headers: Record<string, string>;
}

type RequestFn = (params: RequestOptions, onResponse: (res: IncomingMessage) => void) => ClientRequest;

/** Offers `rate` requests per second for `seconds` and returns one record per request sent. */
export async function offer(options: OfferOptions): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  const open = new Map<RequestRecord, ClientRequest>();
  const started = performance.now();

  const track = (req: ClientRequest) => {
    const sent = performance.now();
    const record: RequestRecord = { sentAtMs: sent - started, latencyMs: 0, status: 0, retryAfter: null };
    records.push(record);
    open.set(record, req);
    const finish = () => {
      record.latencyMs = performance.now() - sent;
      open.delete(record);
    };
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (!open.has(record)) return;
        record.status = res.statusCode ?? 0;
        const retryAfter = res.headers['retry-after'];
        record.retryAfter = typeof retryAfter === 'string' ? retryAfter : null;
        Object.assign(record, describeBody(Buffer.concat(chunks).toString('utf8')));
        finish();
      });
    });
    req.on('error', () => {
      if (!open.has(record)) return;
      record.failure = 'connection';
      finish();
    });
  };

  const pacing =
    options.sequential !== undefined
      ? // loadtest stops a run only by count or time: the time cap keeps a hung request from stalling it.
        {
          concurrency: 1,
          maxRequests: options.sequential,
          maxSeconds: options.seconds ?? options.sequential * 60,
        }
      : { requestsPerSecond: options.rate, maxSeconds: options.seconds };
  const result = runLoadTest({
    url: options.url,
    method: 'POST',
    ...pacing,
    quiet: true,
    requestGenerator: (_options: unknown, params: LoadTestParams, request: RequestFn, connect: never) => {
      const req = request(
        {
          ...params,
          headers: {
            ...params.headers,
            ...options.headers,
            'content-type': options.contentType,
            'content-length': String(options.body.byteLength),
          },
        },
        connect,
      );
      track(req);
      req.write(options.body);
      return req;
    },
  });
  await result;

  // What is still open had its whole drain window to answer; anything longer is a hang.
  const drainUntil = performance.now() + options.drainMs;
  while (open.size > 0 && performance.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const [record, req] of open) {
    record.failure = 'hang';
    record.latencyMs = performance.now() - started - record.sentAtMs;
    req.destroy();
  }
  open.clear();
  return records;
}

function describeBody(text: string): Partial<RequestRecord> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text ? { errorMessage: text.slice(0, 200) } : {};
  }
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const error = b.error as { code?: unknown; message?: unknown } | undefined;
  return {
    ...(typeof b.degraded === 'boolean' ? { degraded: b.degraded } : {}),
    ...(typeof b.degraded_reason === 'string' ? { degradedReason: b.degraded_reason } : {}),
    ...(typeof b.escalated === 'boolean' ? { escalated: b.escalated } : {}),
    ...(typeof b.model === 'string' ? { model: b.model } : {}),
    ...(typeof (b.timings_ms as { total?: unknown } | undefined)?.total === 'number'
      ? { handlerMs: (b.timings_ms as { total: number }).total }
      : {}),
    ...(typeof error?.code === 'string' ? { errorCode: error.code } : {}),
    ...(typeof error?.message === 'string' ? { errorMessage: error.message.slice(0, 200) } : {}),
  };
}
