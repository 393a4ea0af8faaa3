import type { ModelId } from '../../shared/catalog/models.ts';
import { DEADLINE_HEADER, MAX_DEADLINE_MS } from '../../shared/http/deadline.ts';
import { multipartFiles } from '../../shared/http/multipart.ts';
import { REQUEST_ID_HEADER } from '../../shared/http/request-id.ts';
import { signRequest } from '../../shared/signing/index.ts';
import { type BreakerOptions, CircuitBreaker, type Permit } from './breaker.ts';
import {
  type AttemptResult,
  type BatchAttemptResult,
  interpretBatchResponse,
  interpretResponse,
  type OriginBatchResult,
  type OriginError,
  type OriginResult,
} from './interpret.ts';

// Calls the GPU origin's POST /v1/classify (and /v1/classify/batch) from the Worker. Web APIs only (fetch, AbortController,
// crypto.subtle via shared/signing), so the same code runs in workerd and in Node.
//
// Create the client once per isolate (module scope, or memoised per env): its circuit breaker is module
// state, and a client built per request would start every request with a fresh, closed breaker.

export const ORIGIN_CLASSIFY_PATH = '/v1/classify';
export const ORIGIN_BATCH_PATH = '/v1/classify/batch';

export interface OriginClientOptions {
  /** e.g. "https://gpu.example.com" or with a path prefix "https://gw.example.com/origin". */
  baseUrl: string;
  keyId: string;
  secret: string;
  fetch?: typeof fetch;
  /** A breaker to share, or options for the client's own. */
  breaker?: CircuitBreaker | BreakerOptions;
  /** Epoch-ms clock for deadlines and signature timestamps; default Date.now. */
  now?: () => number;
  /** Pause before the one retry after a connection failure. Default 25 ms. */
  retryDelayMs?: number;
  /** Sees the headers of every response the origin sent (errors too), e.g. its queue wait estimates. */
  onResponseHeaders?: (headers: Headers) => void;
}

export interface OriginCallOptions {
  model: ModelId;
  top_k: number;
  requestId: string;
  /** Absolute deadline in epoch ms (same clock as `now`). Each attempt sends the time left. */
  deadlineMs: number;
}

export interface OriginImage {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
}

export interface OriginClient {
  classify(
    bytes: Uint8Array<ArrayBuffer>,
    contentType: string,
    options: OriginCallOptions,
  ): Promise<OriginResult>;
  /** Several images for one model in one signed call (multipart); one breaker permit, one retry rule. */
  classifyBatch(images: readonly OriginImage[], options: OriginCallOptions): Promise<OriginBatchResult>;
  readonly breaker: CircuitBreaker;
}

export class OriginConfigError extends Error {}

export function createOriginClient(options: OriginClientOptions): OriginClient {
  const originBase = originBaseFor(options.baseUrl);
  if (!options.keyId || !options.secret)
    throw new OriginConfigError('origin signing key id and secret are required');
  const key = { id: options.keyId, secret: options.secret };
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;
  const retryDelayMs = options.retryDelayMs ?? 25;
  const breaker =
    options.breaker instanceof CircuitBreaker
      ? options.breaker
      : new CircuitBreaker({ now, ...options.breaker });

  /** What one kind of call sends and how its answer is read. */
  interface Call<R> {
    path: string;
    bytes: Uint8Array<ArrayBuffer>;
    contentType: string;
    interpret: (status: number, headers: Headers, text: string) => R | AttemptFailure;
  }

  async function attempt<R>(request: Call<R>, call: OriginCallOptions): Promise<R | AttemptFailure> {
    const { bytes, contentType } = request;
    const remaining = Math.floor(call.deadlineMs - now());
    if (remaining <= 0)
      return { ok: false, kind: 'timeout', message: 'deadline passed before the origin call' };
    const url = new URL(`${originBase}${request.path}`);
    url.searchParams.set('model', call.model);
    url.searchParams.set('top_k', String(call.top_k));
    // Signed afresh per attempt: the origin remembers signatures and would refuse a replayed one.
    const signature = await signRequest({
      key,
      method: 'POST',
      audience: url.host,
      pathWithQuery: url.pathname + url.search,
      body: bytes,
      now: now(),
    });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), remaining);
    try {
      let response: Response;
      try {
        response = await fetchImpl(url.toString(), {
          method: 'POST',
          body: bytes,
          headers: {
            ...signature,
            'content-type': contentType,
            [REQUEST_ID_HEADER]: call.requestId,
            [DEADLINE_HEADER]: String(Math.min(remaining, MAX_DEADLINE_MS)),
          },
          signal: controller.signal,
        });
      } catch (error) {
        if (controller.signal.aborted) return timedOut(remaining);
        // fetch rejects before any response only when no HTTP exchange happened: refused, reset, DNS.
        return { ok: false, kind: 'connect', message: `origin unreachable: ${describe(error)}` };
      }
      options.onResponseHeaders?.(response.headers);
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        if (controller.signal.aborted) return timedOut(remaining);
        return {
          ok: false,
          kind: 'bad_response',
          status: response.status,
          message: `origin response cut off: ${describe(error)}`,
        };
      }
      return request.interpret(response.status, response.headers, text);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Breaker admission, the attempt, and one retry when no connection was made. */
  async function send<R extends { ok: true }>(
    request: Call<R>,
    call: OriginCallOptions,
  ): Promise<(R | AttemptFailure) & { attempts: number }> {
    if (call.deadlineMs - now() <= 0) return { ...timedOut(0), attempts: 0 };
    const admission = breaker.acquire();
    if (!admission.ok) {
      return {
        ok: false,
        kind: 'circuit_open',
        message: 'origin circuit is open after repeated failures; not calling it',
        attempts: 0,
        retryAfterS: admission.retryAfterMs / 1000,
      };
    }
    const permit: Permit = admission.permit;
    let result: R | AttemptFailure = { ok: false, kind: 'connect', message: 'origin call did not complete' };
    let attempts = 0;
    try {
      attempts++;
      result = await attempt(request, call);
      // One retry, only when no connection was made: the origin never saw the request.
      if (!result.ok && result.kind === 'connect' && call.deadlineMs - now() > retryDelayMs) {
        if (retryDelayMs > 0) await sleep(retryDelayMs);
        attempts++;
        result = await attempt(request, call);
      }
    } finally {
      breaker.record(permit, countsAgainstOrigin(result) ? 'failure' : 'success');
    }
    return { ...result, attempts };
  }

  return {
    breaker,
    classify(bytes, contentType, call) {
      return send<Extract<AttemptResult, { ok: true }>>(
        { path: ORIGIN_CLASSIFY_PATH, bytes, contentType, interpret: interpretResponse },
        call,
      );
    },
    classifyBatch(images, call) {
      const body = multipartFiles('image', images);
      return send<Extract<BatchAttemptResult, { ok: true }>>(
        {
          path: ORIGIN_BATCH_PATH,
          bytes: body.bytes,
          contentType: body.contentType,
          interpret: (status, headers, text) => interpretBatchResponse(status, headers, text, images.length),
        },
        call,
      );
    },
  };
}

type AttemptFailure = Omit<OriginError, 'attempts'>;

/**
 * Failures that say the origin is unhealthy. A rejected input is a healthy origin doing its job, and so
 * is a 429: an origin that sheds is up and admitting what it can. Counting 429s would open the breaker
 * under load and refuse the traffic the origin could still serve; recording them as successes also lets
 * a half-open probe that is shed close the breaker, since the origin evidently answers.
 */
function countsAgainstOrigin(result: { ok: boolean; kind?: string }): boolean {
  return !result.ok && result.kind !== 'rejected' && result.kind !== 'busy';
}

function timedOut(budgetMs: number): Omit<OriginError, 'attempts'> {
  return {
    ok: false,
    kind: 'timeout',
    message: `origin did not answer within the ${budgetMs} ms left of the deadline`,
  };
}

/** The base URL without a trailing slash; the paths above are appended to it. */
function originBaseFor(baseUrl: string): string {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new OriginConfigError(`origin base URL is not a URL: "${baseUrl}"`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new OriginConfigError(`origin base URL must be http(s), got "${base.protocol}"`);
  }
  if (base.search || base.hash)
    throw new OriginConfigError('origin base URL must not carry a query or fragment');
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fetch hides the socket error (ECONNREFUSED, ECONNRESET) in `cause`.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
