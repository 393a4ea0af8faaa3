import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../../shared/http/errors.ts';
import type { Verifier, VerifyResult } from '../../shared/signing/verify.ts';
import type { AppEnv } from '../http/env.ts';

export interface RequireSignatureOptions {
  verifier: Verifier;
}

/**
 * Refuses any request whose HMAC signature (shared/signing) is missing, stale, forged or replayed.
 * Headers, timestamp, key id and audience are checked before the body is read; the MAC needs the whole
 * body, so a body limit must run before this.
 */
export function requireSignature({ verifier }: RequireSignatureOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const head = {
      method: c.req.method,
      pathWithQuery: url.pathname + url.search,
      header: (name: string) => c.req.header(name),
    };
    const early = verifier.checkHeaders(head);
    if (early) refuse(c, early);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const result = await verifier.verify({ ...head, body });
    if (!result.ok) refuse(c, result);
    c.set('signingKeyId', result.keyId);
    await next();
  };
}

function refuse(c: Context, result: Extract<VerifyResult, { ok: false }>): never {
  if (result.reason === 'replay_cache_full')
    throw new ApiError('queue_full', result.message, { 'retry-after': '1' });
  // Refused before the body was read (or after): the client may still be sending it, so do not reuse
  // the connection for another request.
  if (c.req.raw.body && !c.req.raw.bodyUsed)
    throw new ApiError('unauthorized', result.message, { connection: 'close' });
  throw new ApiError('unauthorized', result.message);
}
