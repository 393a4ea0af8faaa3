import {
  BatchResponseSchema,
  type BatchResult,
  type ClassifyResponse,
  ClassifyResponseSchema,
  isBatchError,
} from '../../shared/api/classify.ts';
import { type ErrorCode, type ErrorEnvelope, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import type { OriginFailureKind } from '../../shared/policy/escalation.ts';

// Turns one HTTP answer from the origin into a result the escalation policy understands.

export interface OriginError {
  ok: false;
  kind: OriginFailureKind;
  message: string;
  /** HTTP attempts made (0 when the call never left the edge: breaker open, deadline already gone). */
  attempts: number;
  /** The origin's HTTP status, when it answered. */
  status?: number;
  /** The origin's error envelope, when it sent a valid one (relay it for kind "rejected"). */
  envelope?: ErrorEnvelope;
  /** From the origin's Retry-After or the breaker's remaining cooldown. */
  retryAfterS?: number;
}

export interface OriginSuccess {
  ok: true;
  response: ClassifyResponse;
  attempts: number;
}

export type OriginResult = OriginSuccess | OriginError;

/** A result before the client adds how many attempts it took. */
export type AttemptResult = OriginResult extends infer R
  ? R extends unknown
    ? Omit<R, 'attempts'>
    : never
  : never;

/** Statuses where the origin judged the input, not its own health: the same image would fail anywhere. */
const INPUT_REJECTED = new Set([400, 413, 415, 422]);

export function interpretResponse(status: number, headers: Headers, bodyText: string): AttemptResult {
  const json = parseJson(bodyText);
  if (status >= 200 && status < 300) {
    const parsed = ClassifyResponseSchema.safeParse(json);
    if (parsed.success) return { ok: true, response: parsed.data };
    return {
      ok: false,
      kind: 'bad_response',
      status,
      message: `origin answered ${status} with a body that is not a classification`,
    };
  }
  const envelope = ErrorEnvelopeSchema.safeParse(json);
  const code: ErrorCode | undefined = envelope.success ? envelope.data.error.code : undefined;
  const detail = envelope.success ? `${code}: ${envelope.data.error.message}` : 'no error envelope';
  const base = {
    ok: false as const,
    status,
    message: `origin answered ${status} (${detail})`,
    ...(envelope.success ? { envelope: envelope.data } : {}),
  };
  if (INPUT_REJECTED.has(status)) return { ...base, kind: 'rejected' };
  // The origin ran out of the same budget we gave it: to the caller that is a timeout.
  if (status === 504 || code === 'deadline_exceeded') return { ...base, kind: 'timeout' };
  const retryAfterS = parseRetryAfter(headers.get('retry-after'), Date.now());
  // Shedding: the origin is up and answering, only full. Not an outage (see countsAgainstOrigin).
  const kind = status === 429 ? 'busy' : 'unavailable';
  return { ...base, kind, ...(retryAfterS === undefined ? {} : { retryAfterS }) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After as delay-seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** A batch call's answer: one entry per image, in order, each a classification or its own error. */
export interface OriginBatchSuccess {
  ok: true;
  results: BatchResult[];
  attempts: number;
}

export type OriginBatchResult = OriginBatchSuccess | OriginError;

export type BatchAttemptResult = Omit<OriginBatchSuccess, 'attempts'> | Omit<OriginError, 'attempts'>;

/** POST /v1/classify/batch: a 2xx must hold exactly one entry per image sent; anything else as above. */
export function interpretBatchResponse(
  status: number,
  headers: Headers,
  bodyText: string,
  images: number,
): BatchAttemptResult {
  if (status < 200 || status >= 300) {
    const failure = interpretResponse(status, headers, bodyText);
    // Not 2xx, so never a success; the check only tells the compiler.
    if (!failure.ok) return failure;
  }
  const parsed = BatchResponseSchema.safeParse(parseJson(bodyText));
  if (parsed.success && parsed.data.results.length === images)
    return { ok: true, results: parsed.data.results };
  return {
    ok: false,
    kind: 'bad_response',
    status,
    message: parsed.success
      ? `origin answered ${parsed.data.results.length} results for ${images} images`
      : `origin answered ${status} with a body that is not a batch of classifications`,
  };
}

/** One entry of a batch answer as if the image had been sent alone. */
export function interpretBatchEntry(entry: BatchResult, attempts: number): OriginResult {
  if (!isBatchError(entry)) return { ok: true, response: entry, attempts };
  const headers = new Headers(
    entry.retry_after_s === undefined ? {} : { 'retry-after': String(entry.retry_after_s) },
  );
  const result = interpretResponse(entry.status, headers, JSON.stringify({ error: entry.error }));
  return { ...result, attempts } as OriginResult;
}
