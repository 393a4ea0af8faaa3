// The one HTTP error layer of both services: a thrown ApiError (or Hono's own HTTPException) becomes our
// envelope with the status the shared code→status table assigns, plus any headers the error carries.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ERROR_STATUS, type ErrorCode, errorEnvelope } from '../api/errors.ts';

/** An error the client should see: its code fixes the status; headers (e.g. Retry-After) go out with it. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}

/** Hono's exceptions (body limit, bearer auth, malformed JSON) keep their status and get a code. */
const CODE_FOR_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_image',
  429: 'queue_full',
};

export function codeForStatus(status: number): ErrorCode {
  return CODE_FOR_STATUS[status] ?? (status >= 500 ? 'internal' : 'invalid_request');
}

/** The request's id as the request-id middleware set it; "unknown" before that middleware ran. */
export function requestIdOf(c: Context): string {
  return (c.get('requestId') as string | undefined) ?? 'unknown';
}

/** How one error is written to the client; /v2 uses the Open Inference Protocol's shape instead. */
export type ErrorWriter = (c: Context, code: ErrorCode, message: string) => ReturnType<NotFoundHandler>;

export const writeEnvelope: ErrorWriter = (c, code, message) =>
  c.json(errorEnvelope(code, message, requestIdOf(c)), ERROR_STATUS[code]);

/** Sends our error envelope with the status the shared map assigns to `code`. */
export function sendError(c: Context, code: ErrorCode, message: string): ReturnType<NotFoundHandler> {
  return writeEnvelope(c, code, message);
}

export interface ErrorHandlerOptions {
  /** Where unexpected errors are logged (one JSON line each). */
  log: (line: string) => void;
  /** Picks the writer for a request; default: our envelope. */
  writerFor?: (c: Context) => ErrorWriter;
}

/** The single place errors become responses: never a stack, a zod dump or a configuration value. */
export function errorHandler(options: ErrorHandlerOptions): ErrorHandler {
  const { log } = options;
  const writerFor = options.writerFor ?? (() => writeEnvelope);
  return (error, c) => {
    const write = writerFor(c);
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return write(c, error.code, error.message);
    }
    if (error instanceof HTTPException && error.status < 500) {
      return write(c, codeForStatus(error.status), error.message || 'Request rejected.');
    }
    log(
      JSON.stringify({
        msg: 'unhandled error',
        request_id: requestIdOf(c),
        error: String(error.stack ?? error),
      }),
    );
    return write(c, 'internal', 'Internal error.');
  };
}

/** 404 for every unknown path, in the same style on both services. */
export function notFound(options: Pick<ErrorHandlerOptions, 'writerFor'> = {}): NotFoundHandler {
  const writerFor = options.writerFor ?? (() => writeEnvelope);
  return (c) => writerFor(c)(c, 'not_found', `No route for ${c.req.method} ${c.req.path}.`);
}
