// The whole product on loopback for end-to-end tests: the GPU origin as its own Node process (the same
// entry point and environment variables as `npm start`, CPU provider) and the edge Worker in real workerd
// (infra/dev/workerd.ts), wired together with a fresh signing key. The origin can be killed and started
// again on the same port to exercise the edge's degraded paths and its circuit breaker.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { ProfileFile } from '../../infra/dev/local-r2.ts';
import { killOrigin as killProcess, spawnOrigin, waitForOrigin } from '../../infra/dev/origin-process.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { ORIGIN_TEST_MODELS, originModelsDir, preoptimizedTestModels } from '../../infra/models/cache.ts';

/** Loading and warming B5 + B7 on two busy cores; generous because a cold CI runner is slow. */
const ORIGIN_READY_TIMEOUT_MS = 5 * 60_000;
const KEY_ID = 'e2e';

export interface Stack {
  edge: BootedWorker;
  edgeUrl: string;
  originUrl: string;
  /** stdout and stderr of every origin process started so far. */
  originLogs(): string;
  /** SIGKILL: the origin vanishes without draining, as in a crash. */
  killOrigin(): Promise<void>;
  /**
   * Starts the origin again on the same port and waits until it is ready; with `models`, it serves only
   * those (a restart that needs just B5 skips loading B7, seconds on CPU); `env` adds to or overrides
   * the stack's origin environment for this start only (e.g. a larger batch for the batch route).
   */
  startOrigin(models?: readonly string[], env?: Record<string, string>): Promise<void>;
  dispose(): Promise<void>;
}

export interface StackOptions {
  /** Extra edge vars (e.g. a short breaker cooldown). */
  edgeVars?: Record<string, string>;
  /** Extra origin environment (e.g. a tiny queue, to see it shed). */
  originEnv?: Record<string, string>;
  /** Measured profiles deployed to the edge's bucket, as a deploy uploads them (for latency_budget_ms). */
  edgeProfiles?: readonly ProfileFile[];
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // The edge models in the form `npm start` deploys (split, saved as onnxruntime optimised them, loaded with
  // optimisation off); the origin's as it serves them (one file each).
  const [edgeModels, modelsDir, port] = await Promise.all([
    preoptimizedTestModels(),
    originModelsDir(),
    freePort(),
  ]);
  const secret = randomBytes(32).toString('hex');
  const originUrl = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  let origin: ChildProcess | undefined;

  const startOrigin = async (
    models: readonly string[] = ORIGIN_TEST_MODELS,
    env: Record<string, string> = {},
  ) => {
    const child = spawnOrigin({
      port,
      modelsDir,
      models,
      hmacKeys: `${KEY_ID}:${secret}`,
      env: {
        ORIGIN_EXECUTION_PROVIDERS: 'cpu',
        ORIGIN_PREPROCESS_WORKERS: '1',
        // Timing warm-up runs (a B7 run takes seconds on CPU) only feeds the reported latency, which the
        // edge never reads (it uses the deployed profiles); test/origin/profile.test.ts covers it.
        ORIGIN_WARMUP_RUNS: '0',
        ...options.originEnv,
        ...env,
      },
      output: (chunk) => logs.push(chunk),
    });
    origin = child;
    await waitForOrigin(originUrl, child, ORIGIN_READY_TIMEOUT_MS, () => logs.join(''));
  };

  const killOrigin = async () => {
    const child = origin;
    origin = undefined;
    await killProcess(child);
  };

  await startOrigin();
  let edge: BootedWorker;
  try {
    edge = await bootWorker({
      models: [edgeModels.b0, edgeModels.b1Split],
      ...(options.edgeProfiles ? { profiles: options.edgeProfiles } : {}),
      vars: { ORIGIN_URL: originUrl, ORIGIN_KEY_ID: KEY_ID, ALLOW_OPEN_API: '1', ...options.edgeVars },
      secrets: { ORIGIN_SECRET: secret },
    });
  } catch (error) {
    await killOrigin();
    throw error;
  }
  return {
    edge,
    edgeUrl: edge.url.toString().replace(/\/$/, ''),
    originUrl,
    originLogs: () => logs.join(''),
    killOrigin,
    startOrigin,
    dispose: async () => {
      try {
        await edge.dispose();
      } finally {
        await killOrigin();
      }
    },
  };
}

/** A port nobody listens on now; the origin binds it, and binds it again after a restart. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** POST /v1/classify with raw image bytes and a query string; returns status, headers and parsed body. */
export async function classify(
  stack: Stack,
  image: Uint8Array<ArrayBuffer>,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.edgeUrl}/v1/classify?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg', ...headers },
    body: image,
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(
      `POST /v1/classify?${query} answered ${response.status} with non-JSON: ${text.slice(0, 200)}`,
    );
  }
  return { status: response.status, headers: response.headers, body };
}
