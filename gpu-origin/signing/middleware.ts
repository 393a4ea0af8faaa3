import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../shared/http/errors.ts';
import type { Verifier } from '../../shared/signing/verify.ts';
import type { AppEnv } from '../http/env.ts';

export interface RequireSignatureOptions {
  verifier: Verifier;
}

/**
 * Refuses any request whose HMAC signature (shared/signing) is missing, stale, forged or replayed.
 * Reads the whole body, so a body limit must run before it.
 */
export function requireSignature({ verifier }: RequireSignatureOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const result = await verifier.verify({
      method: c.req.method,
      pathWithQuery: url.pathname + url.search,
      body,
      header: (name) => c.req.header(name),
    });
    if (!result.ok) {
      if (result.reason === 'replay_cache_full')
        throw new ApiError('queue_full', result.message, { 'retry-after': '1' });
      throw new ApiError('unauthorized', result.message);
    }
    c.set('signingKeyId', result.keyId);
    await next();
  };
}
