import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModelsDir, classify, metricValue, solidImage } from './helpers.ts';

// The real entry point (`npm run origin`) as a child process: execution-provider fallback, fail-fast
// configuration, and draining on SIGTERM.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let modelsDir: string;
let cleanup: () => Promise<void>;
let cudaPresent = false;

beforeAll(async () => {
  const models = await buildModelsDir(['b0']);
  ({ dir: modelsDir, cleanup } = models);
  ort.env.logLevel = 'fatal';
  try {
    const session = await ort.InferenceSession.create(`${modelsDir}/efficientnet-b0/model.onnx`, {
      executionProviders: ['cuda'],
    });
    await session.release();
    cudaPresent = true;
  } catch {
    cudaPresent = false;
  }
});

afterAll(async () => {
  await cleanup?.();
});

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
}

function startMain(env: Record<string, string>): Child {
  // Node itself with tsx's loader (not the tsx wrapper, which forks): a kill reaches the process under test
  // and none is left behind.
  const child = spawn(process.execPath, ['--import', 'tsx', 'gpu-origin/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      ORIGIN_HOST: '127.0.0.1',
      ORIGIN_PORT: '0',
      ORIGIN_THREADS: '1',
      ORIGIN_ALLOW_UNSIGNED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d) => {
    text += d;
  });
  child.stderr?.on('data', (d) => {
    text += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const match = text.match(pattern);
      if (match) return match;
      if (child.exitCode !== null || Date.now() > until) throw new Error(`no ${pattern} in output:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { process: child, output: () => text, exited, waitFor };
}

describe.skipIf(cudaPresent)('without CUDA (this machine)', () => {
  it('falls back to CPU when allowed, says so in one line, and drains in-flight work on SIGTERM', async () => {
    // A long batch window keeps a request in the queue long enough to signal the process mid-request.
    const child = startMain({
      ORIGIN_MODELS_DIR: modelsDir,
      ORIGIN_EXECUTION_PROVIDERS: 'cuda,cpu',
      ORIGIN_BATCH_WINDOW_MS: '1500',
    });
    try {
      const [, url] = (await child.waitFor(/listening on (http:\/\/\S+)/)) as RegExpMatchArray;
      await child.waitFor(/ready: efficientnet-b0 \(cpu\)/);
      const providerLines = child
        .output()
        .split('\n')
        .filter((l) => l.includes('execution provider'));
      expect(providerLines).toEqual([
        '[origin] efficientnet-b0: execution provider cpu because cuda failed (its libraries could not be loaded: Failed to load shared library)',
      ]);
      const meta = (await (await fetch(`${url}/v2/models/efficientnet-b0`)).json()) as {
        parameters: { execution_provider: string };
      };
      expect(meta.parameters.execution_provider).toBe('cpu');

      // A request in flight when SIGTERM arrives is still answered; then the process exits cleanly.
      const inFlight = classify(url as string, await solidImage('jpeg', 800, 600));
      const queued = async () =>
        metricValue(await (await fetch(`${url}/metrics`)).text(), 'origin_queue_depth', {
          model: 'efficientnet-b0',
        });
      while ((await queued()) < 1) await new Promise((r) => setTimeout(r, 20));
      child.process.kill('SIGTERM');
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await child.exited).toBe(0);
      expect(child.output()).toMatch(/SIGTERM: draining[\s\S]*stopped/);
    } finally {
      child.process.kill('SIGKILL');
    }
  });

  it('exits with a clear message when CUDA is required and CPU fallback is disabled', async () => {
    const child = startMain({
      ORIGIN_MODELS_DIR: modelsDir,
      ORIGIN_EXECUTION_PROVIDERS: 'cuda',
      ORIGIN_ALLOW_CPU_FALLBACK: 'false',
    });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain(
      'fatal: efficientnet-b0: no usable execution provider: cuda failed (its libraries could not be loaded: Failed to load shared library); CPU fallback is disabled',
    );
  });
});

const outputLines = (child: Child) =>
  child
    .output()
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('npm warn'));

describe('fails closed without signing keys', () => {
  // Unset here; an empty value and blank entries parse to the same refusal (test/origin/config.test.ts).
  it('refuses to start when ORIGIN_HMAC_KEYS is unset, in one line naming both settings', async () => {
    const child = startMain({ ORIGIN_MODELS_DIR: modelsDir, ORIGIN_ALLOW_UNSIGNED: '' });
    expect(await child.exited).toBe(1);
    const lines = outputLines(child);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[origin\] fatal: ORIGIN_HMAC_KEYS is empty: .*ORIGIN_ALLOW_UNSIGNED=true/);
    expect(child.output()).not.toContain('listening');
  });

  it('runs unsigned only with ORIGIN_ALLOW_UNSIGNED=true, and says so loudly along with the address', async () => {
    const child = startMain({ ORIGIN_MODELS_DIR: modelsDir, ORIGIN_EXECUTION_PROVIDERS: 'cpu' });
    try {
      const [, url] = (await child.waitFor(/listening on (http:\/\/\S+)/)) as RegExpMatchArray;
      expect(child.output()).toMatch(/WARNING: ORIGIN_ALLOW_UNSIGNED=true .*NOT authenticated/);
      expect(child.output()).toContain('(bound to 127.0.0.1 only)');
      await child.waitFor(/ready: /);
      expect((await fetch(`${url}/v2/models/efficientnet-b0`)).status).toBe(200);
    } finally {
      child.process.kill('SIGKILL');
    }
  });
});

describe('fail-fast configuration', () => {
  it('stops with one line naming the bad variable', async () => {
    const child = startMain({ ORIGIN_MODELS_DIR: '/nonexistent', ORIGIN_MAX_BATCH: 'lots' });
    expect(await child.exited).toBe(1);
    const lines = child
      .output()
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[origin\] fatal: invalid configuration: ORIGIN_MAX_BATCH: /);
  });

  it('stops when the models directory holds no model', async () => {
    const child = startMain({ ORIGIN_MODELS_DIR: '/nonexistent-models-dir' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain('models directory /nonexistent-models-dir cannot be read');
  });
});
