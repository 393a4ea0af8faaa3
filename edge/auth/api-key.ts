import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../../shared/http/errors.ts';

export interface ApiKeyAuthOptions {
  /** Paths that never need a key (health checks, the API description). */
  publicPaths?: readonly string[];
  /** Called once per isolate when neither API_KEYS nor API_KEYS_KV is configured. */
  warnOpen?: (message: string) => void;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Bearer-token check against the API_KEYS secret (comma-separated) and/or the API_KEYS_KV namespace
 * (token → any value). With neither configured the API is open, and says so once per isolate.
 */
export function apiKeyAuth(options: ApiKeyAuthOptions = {}): MiddlewareHandler<{ Bindings: Env }> {
  const publicPaths = new Set(options.publicPaths ?? []);
  const warnOpen = options.warnOpen ?? ((message: string) => console.warn(message));
  let warned = false;

  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const secretKeys = parseKeys(c.env.API_KEYS);
    const kv = c.env.API_KEYS_KV;
    if (secretKeys.length === 0 && !kv) {
      if (!warned) {
        warned = true;
        warnOpen(
          'API keys are not configured (set the API_KEYS secret or bind API_KEYS_KV): the API is open to anyone.',
        );
      }
      return next();
    }
    const token = bearerToken(c);
    if (!token) throw new ApiError('unauthorized', 'Missing API key: send "Authorization: Bearer <key>".');
    if ((await matchesAny(token, secretKeys)) || (kv && (await kv.get(token)) !== null)) return next();
    throw new ApiError('unauthorized', 'Invalid API key.');
  };
}

function parseKeys(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
}

function bearerToken(c: Context): string | undefined {
  return BEARER.exec(c.req.header('authorization') ?? '')?.[1];
}

// Compare digests in constant time so response timing does not leak how much of a key matched.
async function matchesAny(token: string, keys: readonly string[]): Promise<boolean> {
  if (keys.length === 0) return false;
  const tokenDigest = await sha256(token);
  let found = false;
  for (const key of keys) {
    if (crypto.subtle.timingSafeEqual(tokenDigest, await sha256(key))) found = true;
  }
  return found;
}

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
}
