import type { MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import { ApiError } from '../../shared/http/errors.ts';
import { edgeConfig, MAX_TOKEN_LENGTH, type SettingsEnv } from '../config.ts';

/** What the check needs of a KV namespace. */
export interface KeyStore {
  get(key: string): Promise<string | null>;
}

export type AuthBindings = SettingsEnv & { API_KEYS_KV?: KeyStore | undefined };

export interface ApiKeyAuthOptions {
  /** Paths that never need a key (health checks, the API description). */
  publicPaths?: readonly string[];
  /** Called once per isolate when ALLOW_OPEN_API lets the API run without keys. */
  warnOpen?: (message: string) => void;
}

export const OPEN_API_WARNING =
  'ALLOW_OPEN_API=1 and no API keys are configured (API_KEYS secret or API_KEYS_KV binding): the API is open to anyone. Development only.';

const MISSING = 'Missing API key: send "Authorization: Bearer <key>".';

/**
 * Bearer-token check against the API_KEYS secret (comma-separated) and/or the API_KEYS_KV namespace
 * (token → any value), through hono's bearerAuth, which checks the token's charset first; its length is
 * checked next, both before any KV lookup. Fails closed: with no key source every /v1 request is a 401,
 * unless ALLOW_OPEN_API=1 opens the API on purpose (said once per isolate).
 */
export function apiKeyAuth(options: ApiKeyAuthOptions = {}): MiddlewareHandler<{ Bindings: AuthBindings }> {
  const publicPaths = new Set(options.publicPaths ?? []);
  const warnOpen = options.warnOpen ?? ((message: string) => console.warn(message));
  let warned = false;

  const bearer = bearerAuth<{ Bindings: AuthBindings }>({
    verifyToken: async (token, c) => {
      if (token.length > MAX_TOKEN_LENGTH) return false;
      const keys = edgeConfig(c.env).apiKeys;
      const kv = c.env.API_KEYS_KV;
      return (await matchesAny(token, keys)) || (kv !== undefined && (await kv.get(token)) !== null);
    },
  });

  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const config = edgeConfig(c.env);
    if (config.apiKeys.length === 0 && !c.env.API_KEYS_KV) {
      if (!config.allowOpenApi)
        throw new ApiError(
          'unauthorized',
          'No API keys are configured for this service, so it admits no one.',
        );
      if (!warned) {
        warned = true;
        warnOpen(OPEN_API_WARNING);
      }
      return next();
    }
    let admitted = false;
    try {
      await bearer(c, async () => {
        admitted = true;
        await next();
      });
    } catch (error) {
      if (admitted || !(error instanceof HTTPException)) throw error;
      // bearerAuth answers 400 for a malformed header; to a client it is the same as no key.
      const challenge = error.getResponse().headers.get('www-authenticate');
      const message = error.status === 401 && c.req.header('authorization') ? 'Invalid API key.' : MISSING;
      throw new ApiError('unauthorized', message, challenge ? { 'www-authenticate': challenge } : {});
    }
  };
}

// Compare fixed-length digests in constant time so response timing does not leak how much of a key
// matched (XOR-accumulate rather than workerd's timingSafeEqual, so the check also runs in Node tests).
async function matchesAny(token: string, keys: readonly string[]): Promise<boolean> {
  if (keys.length === 0) return false;
  const tokenDigest = await sha256(token);
  let found = false;
  for (const key of keys) {
    const keyDigest = await sha256(key);
    let difference = 0;
    for (let i = 0; i < tokenDigest.length; i++) difference |= (tokenDigest[i] ?? 0) ^ (keyDigest[i] ?? 0);
    if (difference === 0) found = true;
  }
  return found;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}
