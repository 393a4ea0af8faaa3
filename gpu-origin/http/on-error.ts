import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { errorEnvelope } from '../../shared/api/errors.ts';
import { ApiError } from './api-error.ts';

export interface ErrorHandlerOptions {
  log: (line: string) => void;
}

const requestIdOf = (c: Context): string => (c.get('requestId') as string | undefined) ?? 'unknown';

/** The single place errors become responses: always the shared envelope, never a stack or a zod dump. */
export function createErrorHandler(options: ErrorHandlerOptions) {
  return (error: Error, c: Context): Response => {
    const id = requestIdOf(c);
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return c.json(errorEnvelope(error.code, error.message, id), error.status);
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = error.status === 413 ? 'payload_too_large' : 'invalid_request';
      const status = error.status === 413 ? 413 : 400;
      return c.json(errorEnvelope(code, error.message || 'invalid request', id), status);
    }
    options.log(`request ${id} failed: ${error.stack ?? error.message}`);
    return c.json(errorEnvelope('internal', 'internal error', id), 500);
  };
}

export function notFoundHandler(c: Context): Response {
  return c.json(
    errorEnvelope('not_found', `no route for ${c.req.method} ${c.req.path}`, requestIdOf(c)),
    404,
  );
}
