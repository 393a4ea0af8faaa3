// One call to the GPU origin for this request, and what to answer when it fails.
import type { ErrorCode } from '../../shared/api/errors.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import { ApiError } from '../../shared/http/errors.ts';
import type { OriginFailure, OriginFailureKind } from '../../shared/policy/escalation.ts';
import type { Tier } from '../../shared/policy/tiers.ts';
import { originFor } from '../origin/from-env.ts';
import type { OriginError, OriginSuccess } from '../origin/interpret.ts';
import { overheadMs } from '../origin/round-trip.ts';

export type OriginOutcome = (OriginSuccess | NotConfigured | OriginError) & { elapsedMs: number };

interface NotConfigured {
  ok: false;
  kind: 'not_configured';
  message: string;
  retryAfterS?: undefined;
}

export interface OriginCall {
  bytes: Uint8Array;
  /** The sniffed type, not the request's Content-Type: JSON and multipart bodies carry images too. */
  contentType: string;
  model: ModelId;
  topK: number;
  requestId: string;
  /** Absolute epoch-ms deadline for the whole request. */
  deadlineMs: number;
}

export async function callOrigin(env: Env, call: OriginCall): Promise<OriginOutcome> {
  const started = performance.now();
  const access = originFor(env);
  if (!access.client) return { ok: false, kind: 'not_configured', message: access.reason, elapsedMs: 0 };
  const result = await access.client.classify(toOwnedBytes(call.bytes), call.contentType, {
    model: call.model,
    top_k: call.topK,
    requestId: call.requestId,
    deadlineMs: call.deadlineMs,
  });
  const elapsedMs = performance.now() - started;
  if (result.ok) access.roundTrip.observe(overheadMs(elapsedMs, result.response.timings_ms.total));
  // The origin logs the same request_id (the client forwards it), so the two logs join on it.
  console.log(
    JSON.stringify({
      msg: 'origin call',
      request_id: call.requestId,
      model: call.model,
      outcome: result.ok ? 'ok' : result.kind,
      ms: Math.round(elapsedMs),
    }),
  );
  return { ...result, elapsedMs };
}

export function failureOf(outcome: {
  kind: OriginFailureKind;
  retryAfterS?: number | undefined;
}): OriginFailure {
  return { kind: outcome.kind, retryAfterS: outcome.retryAfterS };
}

/** 429/503/504 with our envelope and, when waiting can help, a Retry-After header. */
export function failWith(
  code: 'queue_full' | 'origin_unavailable' | 'deadline_exceeded',
  message: string,
  retryAfterS: number | null,
): never {
  throw new ApiError(code, message, retryAfterS !== null ? { 'retry-after': String(retryAfterS) } : {});
}

/** The origin judged the image itself: pass its verdict on (under this request's id). */
export function relayRejection(
  failure: Pick<OriginError, 'message'> & Partial<Pick<OriginError, 'status' | 'envelope'>>,
): never {
  if (failure.envelope) {
    const { code, message } = failure.envelope.error;
    throw new ApiError(code, message);
  }
  throw new ApiError(codeForStatus(failure.status), `The origin refused the image: ${failure.message}.`);
}

function codeForStatus(status: number | undefined): ErrorCode {
  if (status === 413) return 'image_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 422) return 'invalid_image';
  return 'invalid_request';
}

/** The client wants an ArrayBuffer-backed view; the request body may be a view into a larger buffer. */
export function toOwnedBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength
  )
    return bytes as Uint8Array<ArrayBuffer>;
  return new Uint8Array(bytes);
}

export function logOriginFailure(
  requestId: string,
  tier: Tier,
  result: Extract<OriginOutcome, { ok: false }>,
  action: string,
): void {
  console.warn(
    JSON.stringify({
      msg: 'origin failed',
      request_id: requestId,
      tier,
      kind: result.kind,
      action,
      detail: result.message,
    }),
  );
}
