// The Worker's settings schema (edge/config.ts) and its fail-closed API-key check, in process: the auth
// middleware runs on a bare Hono app with the env passed to app.request(), as hono tests its middleware.
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { type AuthBindings, apiKeyAuth, type KeyStore, OPEN_API_WARNING } from '../../edge/auth/api-key.ts';
import { EdgeConfigError, parseEdgeConfig, requireConfig } from '../../edge/config.ts';
import { type ErrorCode, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { errorHandler } from '../../shared/http/errors.ts';
import { POLICY_DEFAULTS } from '../../shared/policy/escalation.ts';

describe('edge settings', () => {
  it('defaults: 10 MiB body, decoder pixel default, policy 0.5 / 5 s, closed API', () => {
    expect(parseEdgeConfig({})).toMatchObject({
      maxBodyBytes: 10 * 1024 * 1024,
      maxImagePixels: undefined,
      graphOptimization: 'all',
      debugRoutes: false,
      allowOpenApi: false,
      apiKeys: [],
      policy: { minConfidence: 0.5, retryAfterS: 5 },
      originTimeoutMs: 10_000,
    });
    expect(parseEdgeConfig({ DEFAULT_MIN_CONFIDENCE: ' ' }).policy).toEqual(POLICY_DEFAULTS);
  });

  it('reads every setting', () => {
    const config = parseEdgeConfig({
      MAX_BODY_BYTES: '300000',
      MAX_IMAGE_PIXELS: '1000000',
      ORT_GRAPH_OPT: 'basic',
      DEBUG_ROUTES: '1',
      ALLOW_OPEN_API: '1',
      API_KEYS: ' k1 ,k2,, ',
      DEFAULT_MIN_CONFIDENCE: '0.35',
      ORIGIN_RETRY_AFTER_S: '12',
      ORIGIN_TIMEOUT_MS: '2500',
      ORIGIN_URL: ' http://127.0.0.1:1 ',
      ORIGIN_KEY_ID: 'local',
      ORIGIN_SECRET: 's',
      IMAGE_URL_ALLOW_HOSTS: 'images.example.com, *.cdn.example.net',
      IMAGE_URL_DENY_HOSTS: 'bad.cdn.example.net',
      IMAGE_URL_ALLOW_PORTS: '8443',
      IMAGE_URL_TIMEOUT_MS: '1500',
      IMAGE_URL_UNSAFE_TEST_LOOPBACK: 'true',
      RESULT_CACHE_TTL_S: '0',
      BATCH_MAX_BYTES: '2000000',
      BATCH_MAX_PIXELS: '50000000',
    });
    expect(config).toEqual({
      maxBodyBytes: 300_000,
      maxImagePixels: 1_000_000,
      batch: { maxBytes: 2_000_000, maxPixels: 50_000_000 },
      graphOptimization: 'basic',
      debugRoutes: true,
      allowOpenApi: true,
      apiKeys: ['k1', 'k2'],
      policy: { minConfidence: 0.35, retryAfterS: 12 },
      originTimeoutMs: 2500,
      origin: { url: 'http://127.0.0.1:1', keyId: 'local', secret: 's' },
      imageUrl: {
        policy: {
          allowHosts: [{ exact: 'images.example.com' }, { suffix: '.cdn.example.net' }],
          denyHosts: [{ exact: 'bad.cdn.example.net' }],
          allowPorts: [8443],
          unsafeTestLoopback: true,
        },
        timeoutMs: 1500,
      },
      resultCacheTtlS: 0,
    });
    expect(parseEdgeConfig({}).imageUrl).toEqual({
      policy: { allowHosts: [], denyHosts: [], allowPorts: [], unsafeTestLoopback: false },
      timeoutMs: 5000,
    });
  });

  it('a list of blanks and commas is no key at all', () => {
    expect(parseEdgeConfig({ API_KEYS: ' , ' }).apiKeys).toEqual([]);
  });

  it('refuses bad values with one error naming each setting, never quoting a secret', () => {
    const cases: Record<string, string> = {
      MAX_BODY_BYTES: '10MB',
      MAX_IMAGE_PIXELS: '-1',
      ORT_GRAPH_OPT: 'fastest',
      DEBUG_ROUTES: 'yes',
      ALLOW_OPEN_API: 'on',
      DEFAULT_MIN_CONFIDENCE: '1.5',
      ORIGIN_RETRY_AFTER_S: '0',
      IMAGE_URL_ALLOW_HOSTS: 'https://x.com',
      IMAGE_URL_ALLOW_PORTS: '70000',
      IMAGE_URL_UNSAFE_TEST_LOOPBACK: 'yes',
      ORIGIN_TIMEOUT_MS: 'NaN',
      RESULT_CACHE_TTL_S: '-1',
    };
    for (const [name, value] of Object.entries(cases)) {
      expect(() => parseEdgeConfig({ [name]: value })).toThrow(EdgeConfigError);
      expect(() => parseEdgeConfig({ [name]: value })).toThrow(
        new RegExp(`^invalid configuration: ${name}: `),
      );
    }
    for (const bad of ['abc', '-0.1', 'NaN'])
      expect(() => parseEdgeConfig({ DEFAULT_MIN_CONFIDENCE: bad })).toThrow(/DEFAULT_MIN_CONFIDENCE/);
    const secret = 'a key with spaces';
    expect(() => parseEdgeConfig({ API_KEYS: `good, ${secret}` })).toThrow(/API_KEYS: key 2 /);
    try {
      parseEdgeConfig({ API_KEYS: `good, ${secret}` });
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });
});

function authApp(warnOpen: (message: string) => void = () => {}) {
  const app = new Hono<{ Bindings: AuthBindings }>();
  app.onError(errorHandler({ log: () => {} }));
  app.use('*', requireConfig());
  app.use('*', apiKeyAuth({ publicPaths: ['/healthz'], warnOpen }));
  app.get('/v1/models', (c) => c.json({ ok: true }));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  return app;
}

/** A stand-in KV namespace that records lookups: only get() is used by the auth check. */
function recordingKv(keys: readonly string[]) {
  const lookups: string[] = [];
  const kv: KeyStore = {
    get: async (key: string) => {
      lookups.push(key);
      return keys.includes(key) ? '1' : null;
    },
  };
  return { kv, lookups };
}

async function expectError(response: Response, status: number, code: ErrorCode): Promise<string> {
  expect(response.status).toBe(status);
  const body = ErrorEnvelopeSchema.parse(await response.json());
  expect(body.error.code).toBe(code);
  return body.error.message;
}

const env = (vars: Record<string, unknown>): AuthBindings => vars;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('API keys fail closed', () => {
  it('401 on /v1 when no key source is configured; public paths stay open', async () => {
    for (const keys of [{}, { API_KEYS: '' }, { API_KEYS: ' , ' }]) {
      const app = authApp();
      const message = await expectError(await app.request('/v1/models', {}, env(keys)), 401, 'unauthorized');
      expect(message).toMatch(/No API keys are configured/);
      expect((await app.request('/healthz', {}, env(keys))).status).toBe(200);
    }
  });

  it('ALLOW_OPEN_API=1 opens it, and says so once', async () => {
    const warn = vi.fn();
    const app = authApp(warn);
    const open = env({ ALLOW_OPEN_API: '1' });
    expect((await app.request('/v1/models', {}, open)).status).toBe(200);
    expect((await app.request('/v1/models', {}, open)).status).toBe(200);
    expect(warn.mock.calls).toEqual([[OPEN_API_WARNING]]);
  });

  it('checks secret keys and KV keys; a wrong key is 401 and never echoed', async () => {
    const { kv, lookups } = recordingKv(['kv-key']);
    const app = authApp();
    const vars = env({ API_KEYS: 'k1, k2', API_KEYS_KV: kv });
    expect((await app.request('/v1/models', bearer('k2'), vars)).status).toBe(200);
    expect((await app.request('/v1/models', bearer('kv-key'), vars)).status).toBe(200);
    const wrong = await expectError(
      await app.request('/v1/models', bearer('nope'), vars),
      401,
      'unauthorized',
    );
    expect(wrong).toBe('Invalid API key.');
    const missing = await expectError(await app.request('/v1/models', {}, vars), 401, 'unauthorized');
    expect(missing).toMatch(/Missing API key/);
    expect(lookups).toEqual(['kv-key', 'nope']);
  });

  it('refuses over-long tokens and tokens outside the bearer charset before any KV lookup', async () => {
    const { kv, lookups } = recordingKv([]);
    const app = authApp();
    const vars = env({ API_KEYS_KV: kv });
    for (const token of ['k'.repeat(257), 'a,b', 'a b c', '{}']) {
      const response = await app.request('/v1/models', bearer(token), vars);
      await expectError(response, 401, 'unauthorized');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(lookups).toEqual([]);
  });

  it('a bad setting answers 500 without quoting it', async () => {
    const app = authApp();
    const message = await expectError(
      await app.request('/v1/models', {}, env({ MAX_BODY_BYTES: 'lots' })),
      500,
      'internal',
    );
    expect(message).not.toMatch(/lots|MAX_BODY_BYTES/);
  });
});
