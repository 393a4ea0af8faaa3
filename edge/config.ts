// Every setting of the Worker, from its environment (wrangler.toml [vars], secrets, bindings), in one zod
// schema parsed once per isolate. A bad value is one clear line in the log and a 500 for every request,
// never a silently used default. docs/edge.md lists these settings.
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { parseSettings } from '../shared/config/parse.ts';
import { ApiError } from '../shared/http/errors.ts';
import { DEFAULT_IMAGE_URL_TIMEOUT_MS, hostPatternList, portList } from '../shared/net/settings.ts';
import type { UrlPolicy } from '../shared/net/url-policy.ts';
import {
  DEFAULT_MIN_CONFIDENCE,
  DEFAULT_RETRY_AFTER_S,
  type PolicyDefaults,
} from '../shared/policy/escalation.ts';

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_ORIGIN_TIMEOUT_MS = 10_000;
/** A day: a cached answer cannot go stale (its key names the weights), so the TTL only bounds storage. */
export const DEFAULT_RESULT_CACHE_TTL_S = 86_400;
/** POST /v1/classify/batch: all images of one call together, as many bytes as one single call's body. */
export const DEFAULT_BATCH_MAX_BYTES = 10 * 1024 * 1024;
/** ...and header pixels: about eight 12 MP photos. */
export const DEFAULT_BATCH_MAX_PIXELS = 100_000_000;

/**
 * Largest image the edge forwards to the origin, by header dimensions: the origin's own default
 * (ORIGIN_MAX_PIXELS, 40 MP). A larger setting there still gets its images through the side limit.
 */
export const ORIGIN_MAX_IMAGE_PIXELS = 40_000_000;

/** What a bearer token may look like (RFC 6750 b64token), and how long: checked before any lookup. */
export const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
export const MAX_TOKEN_LENGTH = 256;

// The levels of edge/inference's GraphOptimization (not imported: that module pulls in the ORT runtime).
const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
type GraphOptimization = (typeof OPTIMIZATION_LEVELS)[number];

// Workers vars are strings; an empty or blank one counts as unset.
const blankAsUnset = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const setting = <T extends z.ZodType>(schema: T) => z.preprocess(blankAsUnset, schema);
const trimmed = z.string().transform((s) => s.trim());
const wholeNumber = (min: number, max: number) =>
  trimmed
    .pipe(z.string().regex(/^\d+$/, 'must be a whole number'))
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const decimal = (min: number, max: number) =>
  trimmed
    .pipe(z.string().regex(/^\d+(\.\d+)?$/, 'must be a number'))
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/** A comma-separated key list; blanks between commas are dropped, so " , " is no key at all. */
const apiKeys = z.string().transform((text, ctx) => {
  const keys = text
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  keys.forEach((key, i) => {
    // The key itself is never repeated in the message: it is a secret.
    if (key.length > MAX_TOKEN_LENGTH || !BEARER_TOKEN.test(key))
      ctx.addIssue({
        code: 'custom',
        message: `key ${i + 1} is not a bearer token of at most ${MAX_TOKEN_LENGTH} characters [A-Za-z0-9._~+/-]`,
      });
  });
  return keys;
});

const SettingsSchema = z.object({
  MAX_BODY_BYTES: setting(wholeNumber(1, 100 * 1024 * 1024).default(DEFAULT_MAX_BODY_BYTES)),
  /** Unset keeps the decoder's own default. */
  MAX_IMAGE_PIXELS: setting(wholeNumber(1, 1_000_000_000).optional()),
  BATCH_MAX_BYTES: setting(wholeNumber(1, 100 * 1024 * 1024).default(DEFAULT_BATCH_MAX_BYTES)),
  BATCH_MAX_PIXELS: setting(wholeNumber(1, 10_000_000_000).default(DEFAULT_BATCH_MAX_PIXELS)),
  ORT_GRAPH_OPT: setting(z.enum(OPTIMIZATION_LEVELS).default('all')),
  DEBUG_ROUTES: setting(flag.default(false)),
  ALLOW_OPEN_API: setting(flag.default(false)),
  API_KEYS: setting(apiKeys.default([])),
  DEFAULT_MIN_CONFIDENCE: setting(decimal(0, 1).default(DEFAULT_MIN_CONFIDENCE)),
  ORIGIN_RETRY_AFTER_S: setting(wholeNumber(1, 3600).default(DEFAULT_RETRY_AFTER_S)),
  ORIGIN_TIMEOUT_MS: setting(wholeNumber(1, 600_000).default(DEFAULT_ORIGIN_TIMEOUT_MS)),
  // The origin connection is checked by edge/origin/from-env.ts, which degrades to "not configured".
  ORIGIN_URL: setting(trimmed.optional()),
  ORIGIN_KEY_ID: setting(trimmed.optional()),
  ORIGIN_SECRET: setting(z.string().optional()),
  IMAGE_URL_ALLOW_HOSTS: setting(hostPatternList.default([])),
  IMAGE_URL_DENY_HOSTS: setting(hostPatternList.default([])),
  IMAGE_URL_ALLOW_PORTS: setting(portList.default([])),
  IMAGE_URL_TIMEOUT_MS: setting(wholeNumber(1, 60_000).default(DEFAULT_IMAGE_URL_TIMEOUT_MS)),
  // Tests only: lets image_url reach http: and loopback. Off unless set to exactly 1/true.
  IMAGE_URL_UNSAFE_TEST_LOOPBACK: setting(flag.default(false)),
  RESULT_CACHE_TTL_S: setting(wholeNumber(0, 31_536_000).default(DEFAULT_RESULT_CACHE_TTL_S)),
});

/** Every variable the Worker reads (bindings such as MODELS and API_KEYS_KV aside). */
export const SETTING_NAMES = Object.keys(SettingsSchema.shape);

export interface EdgeConfig {
  /** Largest accepted POST /v1/classify body. */
  maxBodyBytes: number;
  /** Largest decoded image in pixels; undefined keeps the decoder's default. */
  maxImagePixels: number | undefined;
  /** POST /v1/classify/batch: the images' bytes and header pixels, all images together. */
  batch: { maxBytes: number; maxPixels: number };
  graphOptimization: GraphOptimization;
  /** /_debug routes (local dev and benchmarks only). */
  debugRoutes: boolean;
  /** Serve /v1/* without keys when no key source is configured (development only). */
  allowOpenApi: boolean;
  apiKeys: readonly string[];
  policy: PolicyDefaults;
  /** Whole-request budget for origin calls, from the request's start. */
  originTimeoutMs: number;
  origin: { url: string | undefined; keyId: string | undefined; secret: string | undefined };
  /** What image_url may name, and how long one fetch (redirects and body included) may take. */
  imageUrl: { policy: UrlPolicy; timeoutMs: number };
  /** How long the result cache keeps an answer, in seconds; 0 turns the cache off. */
  resultCacheTtlS: number;
}

export class EdgeConfigError extends Error {
  override name = 'EdgeConfigError';
}

/** The Worker's env as far as settings go (structural, so Node tests can build one). */
export type SettingsEnv = object;

/** Parses the settings; throws one EdgeConfigError naming every bad setting (never its value). */
export function parseEdgeConfig(env: SettingsEnv): EdgeConfig {
  const raw = Object.fromEntries(SETTING_NAMES.map((name) => [name, (env as Record<string, unknown>)[name]]));
  const s = parseSettings(SettingsSchema, raw, (message) => new EdgeConfigError(message));
  return {
    maxBodyBytes: s.MAX_BODY_BYTES,
    maxImagePixels: s.MAX_IMAGE_PIXELS,
    batch: { maxBytes: s.BATCH_MAX_BYTES, maxPixels: s.BATCH_MAX_PIXELS },
    graphOptimization: s.ORT_GRAPH_OPT,
    debugRoutes: s.DEBUG_ROUTES,
    allowOpenApi: s.ALLOW_OPEN_API,
    apiKeys: s.API_KEYS,
    policy: { minConfidence: s.DEFAULT_MIN_CONFIDENCE, retryAfterS: s.ORIGIN_RETRY_AFTER_S },
    originTimeoutMs: s.ORIGIN_TIMEOUT_MS,
    origin: { url: s.ORIGIN_URL, keyId: s.ORIGIN_KEY_ID, secret: s.ORIGIN_SECRET },
    imageUrl: {
      policy: {
        allowHosts: s.IMAGE_URL_ALLOW_HOSTS,
        denyHosts: s.IMAGE_URL_DENY_HOSTS,
        allowPorts: s.IMAGE_URL_ALLOW_PORTS,
        unsafeTestLoopback: s.IMAGE_URL_UNSAFE_TEST_LOOPBACK,
      },
      timeoutMs: s.IMAGE_URL_TIMEOUT_MS,
    },
    resultCacheTtlS: s.RESULT_CACHE_TTL_S,
  };
}

// The env object lives as long as the isolate; a bad one is remembered too, and logged once.
const parsedConfigs = new WeakMap<object, EdgeConfig | EdgeConfigError>();

/** The isolate's settings, parsed on first use. */
export function edgeConfig(env: SettingsEnv): EdgeConfig {
  let config = parsedConfigs.get(env);
  if (!config) {
    try {
      config = parseEdgeConfig(env);
    } catch (error) {
      if (!(error instanceof EdgeConfigError)) throw error;
      console.error(JSON.stringify({ msg: 'edge misconfigured', error: error.message }));
      config = error;
    }
    parsedConfigs.set(env, config);
  }
  if (config instanceof EdgeConfigError) throw config;
  return config;
}

/** ORT graph optimisation level for new sessions (ORT_GRAPH_OPT, default "all"). */
export function graphOptimization(env: SettingsEnv): GraphOptimization {
  return edgeConfig(env).graphOptimization;
}

/** First middleware: a misconfigured Worker answers 500 without saying which value is wrong (the log does). */
export function requireConfig(): MiddlewareHandler<{ Bindings: SettingsEnv }> {
  return async (c, next) => {
    try {
      edgeConfig(c.env);
    } catch (error) {
      if (error instanceof EdgeConfigError)
        throw new ApiError('internal', 'The service is misconfigured; its operators can see why in its log.');
      throw error;
    }
    await next();
  };
}
