import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { expect } from 'vitest';
import { parseConfig } from '../../gpu-origin/config/config.ts';
import { type OriginServer, type StartOptions, startOrigin } from '../../gpu-origin/server.ts';
import { originModelsDir, testModels } from '../../infra/models/cache.ts';
import { type ErrorEnvelope, ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import type { Variant } from '../../shared/efficientnet/variants.ts';
import { signRequest } from '../../shared/signing/sign.ts';

/**
 * A models directory holding just `variants`: links to the cached factory builds the workerd and
 * end-to-end suites use (infra/models/cache.ts), so no test file pays for its own build.
 * `cleanup` removes the links, not the cached models.
 */
export async function buildModelsDir(
  variants: readonly Variant[],
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'origin-models-'));
  for (const variant of variants) {
    const id = `efficientnet-${variant}`;
    await symlink(join(await cachedSetHolding(variant), id), join(dir, id), 'dir');
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function cachedSetHolding(variant: Variant): Promise<string> {
  if (variant === 'b0' || variant === 'b1') return dirname((await testModels()).b0.dir);
  if (variant === 'b5' || variant === 'b7') return originModelsDir();
  throw new Error(`no cached test build of efficientnet-${variant}`);
}

export interface TestOrigin extends OriginServer {
  logs: string[];
}

/**
 * A real origin on a random loopback port; `env` uses the same variables as production. Unsigned unless
 * `env` sets ORIGIN_HMAC_KEYS (the development flag is explicit, as it must be outside tests too).
 */
export async function startTestOrigin(
  modelsDir: string,
  env: Record<string, string> = {},
  options: Omit<StartOptions, 'log'> = {},
): Promise<TestOrigin> {
  const logs: string[] = [];
  const config = parseConfig({
    ORIGIN_PORT: '0',
    ORIGIN_HOST: '127.0.0.1',
    ORIGIN_MODELS_DIR: modelsDir,
    ORIGIN_EXECUTION_PROVIDERS: 'cpu',
    ORIGIN_THREADS: '1',
    ORIGIN_ALLOW_UNSIGNED: 'true',
    ...env,
  });
  const origin = await startOrigin(config, { ...options, log: (line) => logs.push(line) });
  await origin.loaded;
  return Object.assign(origin, { logs });
}

/** A flat-coloured image with a little structure, encoded by sharp (fixtures only; decoding is under test). */
export function solidImage(format: 'png' | 'jpeg' | 'webp', width = 64, height = 48): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: 180, g: 60, b: 20 } } });
  return image.toFormat(format).toBuffer();
}

export async function classify(
  base: string,
  body: Uint8Array,
  query = 'model=efficientnet-b0',
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}/v1/classify?${query}`, {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
}

export async function signedClassify(
  base: string,
  key: { id: string; secret: string },
  body: Uint8Array,
  query = 'model=efficientnet-b0',
): Promise<{ response: Response; headers: Record<string, string> }> {
  const path = `/v1/classify?${query}`;
  const audience = new URL(base).host;
  const headers = await signRequest({ key, method: 'POST', audience, pathWithQuery: path, body });
  const response = await fetch(`${base}${path}`, { method: 'POST', body: new Uint8Array(body), headers });
  return { response, headers };
}

/** Sum of a Prometheus sample's values over all label sets matching `match`. */
export function metricValue(text: string, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? '';
    const ok = Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`));
    if (ok) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Our error envelope with `status` and `code`, its request id echoed in the header. */
export async function expectError(response: Response, status: number, code: string): Promise<ErrorEnvelope> {
  expect(response.status).toBe(status);
  const body = ErrorEnvelopeSchema.parse(await response.json());
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  return body;
}

/** Under /v2 errors take the Open Inference Protocol's shape `{ error: string }`; the code is a header. */
export async function expectV2Error(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get('x-error-code')).toBe(code);
  const body = (await response.json()) as { error: unknown };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  return body.error as string;
}
