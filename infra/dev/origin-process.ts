// The GPU origin as its own Node process, started and awaited the same way by `npm start` and by the
// end-to-end harness: the production entry point, configured only through its environment variables.
import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from '../models/build.ts';

export interface OriginProcessOptions {
  port: number;
  modelsDir: string;
  models: readonly string[];
  /** "kid:secret" entries for ORIGIN_HMAC_KEYS: the origin always runs signed here. */
  hmacKeys: string;
  /** Further ORIGIN_* settings, e.g. the CPU provider for tests. */
  env?: Record<string, string>;
  /** 'inherit' prints the origin's output here; 'pipe' hands it to onOutput. */
  output: 'inherit' | ((chunk: string) => void);
}

/** Spawns Node itself (not the tsx wrapper), so a signal reaches the process holding the port. */
export function spawnOrigin(options: OriginProcessOptions): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gpu-origin/main.ts'], {
    cwd: REPO_ROOT,
    stdio: [
      'ignore',
      options.output === 'inherit' ? 'inherit' : 'pipe',
      options.output === 'inherit' ? 'inherit' : 'pipe',
    ],
    env: {
      ...process.env,
      ORIGIN_HOST: '127.0.0.1',
      ORIGIN_PORT: String(options.port),
      ORIGIN_MODELS_DIR: options.modelsDir,
      ORIGIN_MODELS: options.models.join(','),
      ORIGIN_HMAC_KEYS: options.hmacKeys,
      ...options.env,
    },
  });
  const output = options.output;
  if (output !== 'inherit') {
    child.stdout?.on('data', (chunk: Buffer) => output(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output(chunk.toString()));
  }
  return child;
}

/**
 * Polls the origin's readiness probe until it answers 200. Fails when the process exits first, or after
 * `timeoutMs` (then the process is killed); `logs` adds what it printed to the error.
 */
export async function waitForOrigin(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  logs: () => string = () => '',
): Promise<void> {
  const readyUrl = `${url}/v2/health/ready`;
  const deadline = Date.now() + timeoutMs;
  const printed = () => (logs() ? `:\n${logs()}` : '');
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `the origin exited (${child.exitCode ?? child.signalCode}) before it was ready${printed()}`,
      );
    const ready = await fetch(readyUrl).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`the origin was not ready after ${timeoutMs / 1000} s (${readyUrl})${printed()}`);
}

/**
 * The port the origin bound, read from its "listening on http://host:port" line: with port 0 the system
 * picks it, and the log is the only way to learn it. Needs `output` as a function (piped stdout).
 */
export function listeningPort(child: ChildProcess, timeoutMs: number, logs: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the origin did not report its port:\n${logs()}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /https?:\/\/[^\s:]+:(\d+)/.exec(seen);
      if (!match) return;
      done();
      resolve(Number(match[1]));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      reject(new Error(`the origin exited (${code ?? signal}) before listening:\n${logs()}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGKILL: the origin vanishes without draining, as in a crash. Resolves once it has exited. */
export async function killOrigin(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** The last `limit` chunks the origin printed, for error messages. */
export function recentOutput(limit = 200): { push(chunk: string): void; text(last?: number): string } {
  const chunks: string[] = [];
  return {
    push: (chunk) => {
      chunks.push(chunk);
      if (chunks.length > limit) chunks.shift();
    },
    text: (last = limit) => chunks.slice(-last).join(''),
  };
}
