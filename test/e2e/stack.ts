// The whole product on loopback for end-to-end tests: the GPU origin as its own Node process (the same
// entry point and environment variables as `npm start`, CPU provider) and the edge Worker in real workerd
// (test/workerd/harness.ts), wired together with a fresh signing key. The origin can be killed and started
// again on the same port to exercise the edge's degraded paths and its circuit breaker.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { type BootedWorker, bootWorker, REPO_ROOT } from '../workerd/harness.ts';
import { testModels } from '../workerd/test-models.ts';
import { ORIGIN_TEST_MODELS, originModelsDir } from './origin-models.ts';

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
  /** Starts the origin again on the same port and waits until it is ready. */
  startOrigin(): Promise<void>;
  dispose(): Promise<void>;
}

export interface StackOptions {
  /** Extra edge vars (e.g. a short breaker cooldown). */
  edgeVars?: Record<string, string>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const [edgeModels, modelsDir, port] = await Promise.all([testModels(), originModelsDir(), freePort()]);
  const secret = randomBytes(32).toString('hex');
  const originUrl = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  let origin: ChildProcess | undefined;

  const startOrigin = async () => {
    // node --import tsx: one process, so a kill reaches the process that holds the port.
    const child = spawn(process.execPath, ['--import', 'tsx', 'gpu-origin/main.ts'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ORIGIN_HOST: '127.0.0.1',
        ORIGIN_PORT: String(port),
        ORIGIN_MODELS_DIR: modelsDir,
        ORIGIN_MODELS: ORIGIN_TEST_MODELS.join(','),
        ORIGIN_HMAC_KEYS: `${KEY_ID}:${secret}`,
        ORIGIN_EXECUTION_PROVIDERS: 'cpu',
        ORIGIN_PREPROCESS_WORKERS: '1',
      },
    });
    child.stdout?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    origin = child;
    await waitForReady(`${originUrl}/v2/health/ready`, child, () => logs.join(''));
  };

  const killOrigin = async () => {
    const child = origin;
    origin = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  await startOrigin();
  let edge: BootedWorker;
  try {
    edge = await bootWorker({
      models: [edgeModels.b0, edgeModels.b1Split],
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

async function waitForReady(url: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + ORIGIN_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the origin exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logs()}`,
      );
    }
    const ready = await fetch(url).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`the origin was not ready after ${ORIGIN_READY_TIMEOUT_MS / 1000} s:\n${logs()}`);
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
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.edgeUrl}/v1/classify?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
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
