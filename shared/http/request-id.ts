// One request id from the edge to the origin: both services accept the same incoming ids (hono's
// request-id middleware with these settings), echo them, and the edge forwards its id to the origin.
import type { MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';

export const REQUEST_ID_HEADER = 'x-request-id';
export const REQUEST_ID_MAX_LENGTH = 128;
/**
 * Exactly what hono's request-id middleware keeps with REQUEST_ID_MAX_LENGTH: word characters, "-" and
 * "="; anything else is replaced by a fresh UUID. Short printable tokens only: ids go into logs.
 */
export const REQUEST_ID_PATTERN = new RegExp(`^[\\w=-]{1,${REQUEST_ID_MAX_LENGTH}}$`);

export type RequestIdVariables = { requestId: string };

export function requestIds(): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return requestId({ headerName: REQUEST_ID_HEADER, limitLength: REQUEST_ID_MAX_LENGTH });
}
