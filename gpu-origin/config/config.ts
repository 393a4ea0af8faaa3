import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describeIssues } from '../../shared/api/errors.ts';
import { type MeasuredProfile, ProfileSchema } from '../../shared/catalog/profile.ts';
import { DEFAULT_IMAGE_URL_TIMEOUT_MS, hostPatternList, portList } from '../../shared/net/settings.ts';
import type { UrlPolicy } from '../../shared/net/url-policy.ts';
import { normalizeAudience } from '../../shared/signing/canonical.ts';

// Everything the service reads from its environment, parsed once at start so a bad value stops it with one
// clear line instead of failing on the first request.

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const PROVIDERS = ['cuda', 'cpu'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const ORT_LOG_LEVELS = ['verbose', 'info', 'warning', 'error', 'fatal'] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const list = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  )
  .pipe(z.array(z.string()));

const hmacKeys = z.string().transform((text, ctx) => {
  const keys = new Map<string, string>();
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const at = item.indexOf(':');
    const id = at > 0 ? item.slice(0, at) : '';
    const secret = at > 0 ? item.slice(at + 1) : '';
    if (!/^[\w.-]{1,64}$/.test(id))
      ctx.addIssue({ code: 'custom', message: 'each entry must be "kid:secret" with a plain key id' });
    else if (secret.length < 32)
      ctx.addIssue({ code: 'custom', message: `secret of key "${id}" must be at least 32 characters` });
    else keys.set(id, secret);
  }
  return keys;
});

// Read at start, so a missing or malformed profile stops the service with one line like any other setting.
const profileFile = z.string().transform((path, ctx): MeasuredProfile => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `cannot read ${path}: ${(error as Error).message}` });
    return z.NEVER;
  }
  const parsed = ProfileSchema.safeParse(json);
  if (!parsed.success) {
    ctx.addIssue({
      code: 'custom',
      message: `${path} is not a profile: ${describeIssues(parsed.error.issues)}`,
    });
    return z.NEVER;
  }
  if (parsed.data.runtime !== 'origin') {
    ctx.addIssue({ code: 'custom', message: `${path} profiles the ${parsed.data.runtime}, not the origin` });
    return z.NEVER;
  }
  return parsed.data;
});

/** Largest batch when neither ORIGIN_MAX_BATCH nor the profile names one. */
export const DEFAULT_MAX_BATCH = 8;

const EnvSchema = z.object({
  ORIGIN_PORT: int(0, 65535).default(8788),
  ORIGIN_HOST: z.string().min(1).default('0.0.0.0'),
  ORIGIN_MODELS_DIR: z.string().min(1).default(`${REPO_ROOT}models`),
  /** Empty means: every model directory found in ORIGIN_MODELS_DIR. */
  ORIGIN_MODELS: list.default([]),
  ORIGIN_EXECUTION_PROVIDERS: list.pipe(z.array(z.enum(PROVIDERS)).min(1)).default(['cuda', 'cpu']),
  ORIGIN_ALLOW_CPU_FALLBACK: bool.default(true),
  ORIGIN_BATCH_WINDOW_MS: z.coerce.number().min(0).max(60_000).default(3),
  /** Unset: each model's measured best batch from ORIGIN_PROFILE, else DEFAULT_MAX_BATCH. */
  ORIGIN_MAX_BATCH: int(1, 256).optional(),
  /** A profile of this origin (`npm run profile -- --runtime origin`): latencies and best batch per model. */
  ORIGIN_PROFILE: profileFile.optional(),
  /** Timed warm-up runs per model not in the profile, for its reported p50/p95; 0 measures nothing. */
  ORIGIN_WARMUP_RUNS: int(0, 1000).default(5),
  /** Stop timing a model's warm-up runs after this long (at least one run is timed when runs > 0). */
  ORIGIN_WARMUP_BUDGET_MS: int(0, 600_000).default(2000),
  ORIGIN_MAX_QUEUE: int(1, 100_000).default(64),
  ORIGIN_DEFAULT_DEADLINE_MS: int(1, 600_000).default(10_000),
  ORIGIN_HMAC_KEYS: hmacKeys.default(new Map()),
  /** Development only: serve every route without signatures when no key is configured. */
  ORIGIN_ALLOW_UNSIGNED: bool.default(false),
  /** Hosts that signatures may name (e.g. gpu.example.com); empty accepts the request's own Host header. */
  ORIGIN_AUDIENCE: list.default([]),
  ORIGIN_SIGNATURE_MAX_AGE_MS: int(1000, 3_600_000).default(60_000),
  ORIGIN_MAX_PIXELS: int(1, 1_000_000_000).default(40_000_000),
  /** Same default as the edge's image limit. */
  ORIGIN_MAX_IMAGE_BYTES: int(1, 1_000_000_000).default(10 * 1024 * 1024),
  /** Any request body; v2 JSON tensors are large (one 600 px image is ~1.1 M numbers). */
  ORIGIN_MAX_BODY_BYTES: int(1, 1_000_000_000).default(32 * 1024 * 1024),
  /** Worker threads for decode + preprocess; 0 runs them on the main thread. */
  ORIGIN_PREPROCESS_WORKERS: int(0, 64).default(Math.max(1, Math.min(8, availableParallelism() - 1))),
  /** ORT intra-op threads; 0 lets ORT pick (one per core). */
  ORIGIN_THREADS: int(0, 1024).default(0),
  ORIGIN_SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(30_000),
  /** ONNX Runtime's own log level. "fatal" hides its multi-line report of a missing CUDA library (we log one line). */
  ORIGIN_ORT_LOG_LEVEL: z.enum(ORT_LOG_LEVELS).default('fatal'),
  /** image_url in JSON bodies: the edge's IMAGE_URL_* settings, with the origin's prefix. */
  ORIGIN_IMAGE_URL_ALLOW_HOSTS: hostPatternList.default([]),
  ORIGIN_IMAGE_URL_DENY_HOSTS: hostPatternList.default([]),
  ORIGIN_IMAGE_URL_ALLOW_PORTS: portList.default([]),
  ORIGIN_IMAGE_URL_TIMEOUT_MS: int(1, 60_000).default(DEFAULT_IMAGE_URL_TIMEOUT_MS),
  /** Tests only, never deployed: image_url may reach http: and loopback hosts on any port. */
  ORIGIN_IMAGE_URL_UNSAFE_TEST_LOOPBACK: bool.default(false),
});

/** Every environment variable the origin reads. */
export const ENV_KEYS = Object.keys(EnvSchema.shape);

export interface OriginConfig {
  port: number;
  host: string;
  modelsDir: string;
  models: string[];
  providers: ProviderName[];
  allowCpuFallback: boolean;
  batchWindowMs: number;
  /** Explicit ORIGIN_MAX_BATCH; null follows the profile. */
  maxBatch: number | null;
  maxQueue: number;
  profile: MeasuredProfile | null;
  warmupRuns: number;
  warmupBudgetMs: number;
  defaultDeadlineMs: number;
  hmacKeys: ReadonlyMap<string, string>;
  /** Serve without signatures; only honoured when `hmacKeys` is empty. */
  allowUnsigned: boolean;
  audiences: string[];
  signatureMaxAgeMs: number;
  maxPixels: number;
  maxImageBytes: number;
  maxBodyBytes: number;
  preprocessWorkers: number;
  threads: number;
  shutdownTimeoutMs: number;
  ortLogLevel: (typeof ORT_LOG_LEVELS)[number];
  /** What image_url may name, and how long one fetch (redirects and body included) may take. */
  imageUrl: { policy: UrlPolicy; timeoutMs: number };
}

export class ConfigError extends Error {}

export function parseConfig(env: Record<string, string | undefined>): OriginConfig {
  // Treat empty variables as unset so `FOO= cmd` falls back to the default.
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('ORIGIN_') && v !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${describeIssues(parsed.error.issues)}`);
  const e = parsed.data;
  requireSigningOrOptOut(e.ORIGIN_HMAC_KEYS, e.ORIGIN_ALLOW_UNSIGNED);
  return {
    port: e.ORIGIN_PORT,
    host: e.ORIGIN_HOST,
    modelsDir: e.ORIGIN_MODELS_DIR,
    models: e.ORIGIN_MODELS,
    providers: [...new Set(e.ORIGIN_EXECUTION_PROVIDERS)],
    allowCpuFallback: e.ORIGIN_ALLOW_CPU_FALLBACK,
    batchWindowMs: e.ORIGIN_BATCH_WINDOW_MS,
    maxBatch: e.ORIGIN_MAX_BATCH ?? null,
    maxQueue: e.ORIGIN_MAX_QUEUE,
    profile: e.ORIGIN_PROFILE ?? null,
    warmupRuns: e.ORIGIN_WARMUP_RUNS,
    warmupBudgetMs: e.ORIGIN_WARMUP_BUDGET_MS,
    defaultDeadlineMs: e.ORIGIN_DEFAULT_DEADLINE_MS,
    hmacKeys: e.ORIGIN_HMAC_KEYS,
    allowUnsigned: e.ORIGIN_ALLOW_UNSIGNED,
    audiences: e.ORIGIN_AUDIENCE.map(normalizeAudience),
    signatureMaxAgeMs: e.ORIGIN_SIGNATURE_MAX_AGE_MS,
    maxPixels: e.ORIGIN_MAX_PIXELS,
    maxImageBytes: e.ORIGIN_MAX_IMAGE_BYTES,
    maxBodyBytes: e.ORIGIN_MAX_BODY_BYTES,
    preprocessWorkers: e.ORIGIN_PREPROCESS_WORKERS,
    threads: e.ORIGIN_THREADS,
    shutdownTimeoutMs: e.ORIGIN_SHUTDOWN_TIMEOUT_MS,
    ortLogLevel: e.ORIGIN_ORT_LOG_LEVEL,
    imageUrl: {
      policy: {
        allowHosts: e.ORIGIN_IMAGE_URL_ALLOW_HOSTS,
        denyHosts: e.ORIGIN_IMAGE_URL_DENY_HOSTS,
        allowPorts: e.ORIGIN_IMAGE_URL_ALLOW_PORTS,
        unsafeTestLoopback: e.ORIGIN_IMAGE_URL_UNSAFE_TEST_LOOPBACK,
      },
      timeoutMs: e.ORIGIN_IMAGE_URL_TIMEOUT_MS,
    },
  };
}

/**
 * Fails closed: an origin without signing keys (an empty or blank secret included) would serve anyone who
 * can reach it, so that takes an explicit development flag. The message names both settings, never a value.
 */
export function requireSigningOrOptOut(keys: ReadonlyMap<string, string>, allowUnsigned: boolean): void {
  if (keys.size === 0 && !allowUnsigned) {
    throw new ConfigError(
      'ORIGIN_HMAC_KEYS is empty: set it to "kid:secret" (the edge signs with the same secret), or set ORIGIN_ALLOW_UNSIGNED=true to serve unsigned requests in development',
    );
  }
}
