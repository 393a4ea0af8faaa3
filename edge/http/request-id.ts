import type { MiddlewareHandler } from 'hono';

export const REQUEST_ID_HEADER = 'x-request-id';

export interface RequestIdOptions {
  /** Which incoming ids are trusted and echoed; anything else is replaced by a fresh UUID. */
  accept?: RegExp;
}

// Short printable tokens only: the id ends up in logs and response headers.
const SANE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export type RequestIdVariables = { requestId: string };

/** Gives every request an id (honouring a sane incoming x-request-id) and echoes it on the response. */
export function requestId(
  options: RequestIdOptions = {},
): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  const accept = options.accept ?? SANE_ID;
  return async (c, next) => {
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const id = incoming && accept.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', id);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, id);
  };
}
