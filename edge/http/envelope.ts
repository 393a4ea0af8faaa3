import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ERROR_STATUS, type ErrorCode, errorEnvelope } from '../../shared/api/errors.ts';
import { ApiError } from './api-error.ts';

/** Sends our error envelope with the status the shared map assigns to `code`. */
export function sendError(c: Context, code: ErrorCode, message: string): Response {
  const id = (c.get('requestId') as string | undefined) ?? 'unknown';
  return c.json(errorEnvelope(code, message, id), ERROR_STATUS[code]);
}

const CODE_FOR_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_image',
  429: 'queue_full',
  503: 'origin_unavailable',
  504: 'deadline_exceeded',
};

/** The one place thrown errors become responses: ours keep their code, Hono's keep their status. */
export function errorToResponse(error: Error, c: Context): Response {
  if (error instanceof ApiError) return sendError(c, error.code, error.message);
  if (error instanceof HTTPException) {
    const code = CODE_FOR_STATUS[error.status] ?? (error.status >= 500 ? 'internal' : 'invalid_request');
    return sendError(c, code, error.message || 'Request rejected.');
  }
  console.error(
    JSON.stringify({
      msg: 'unhandled error',
      request_id: c.get('requestId'),
      error: String(error.stack ?? error),
    }),
  );
  return sendError(c, 'internal', 'Internal error.');
}
