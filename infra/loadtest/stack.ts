// What the load test runs against: the local stack it starts itself (the origin as its own Node process, the
// edge Worker in local workerd with R2 filled, as `npm start` does), or URLs someone else started. Only the
// local stack can kill and restart the origin, which the chaos phase needs.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { unstable_startWorker } from 'wrangler';
import { ensureModels, type WantedModel, type WeightsPreference } from '../dev/ensure-models.ts';
import { fillLocalStorage } from '../dev/local-r2.ts';
import { REPO_ROOT } from '../models/build.ts';

export interface LoadTarget {
  edgeUrl: string;
  /** Sent with every request (the API key). */
  headers: Record<string, string>;
  originUrl: string | undefined;
  /** Present only where this process owns the origin. */
  chaos?: {
    /** SIGKILL: the origin vanishes without draining, as in a crash. */
    killOrigin(): Promise<void>;
    /** Starts the origin again on the same port; resolves when it reports ready. */
    startOrigin(): Promise<void>;
  };
  dispose(): Promise<void>;
}

/** B0 answers tier auto at the edge; B5 answers accurate and auto's escalations. B7 (tier max) is not loaded. */
const EDGE_MODELS: WantedModel[] = [{ id: 'efficientnet-b0', split: true }];
const ORIGIN_MODELS: WantedModel[] = [{ id: 'efficientnet-b5', split: false }];
const ORIGIN_READY_TIMEOUT_MS = 5 * 60_000;
const KEY_ID = 'loadtest';

export interface LocalStackOptions {
  modelsDir: string;
  weights: WeightsPreference;
  /** ORIGIN_* settings on top of the stack's own (e.g. queue and batch bounds). */
  originEnv: Record<string, string>;
  /** Edge vars on top of the stack's own. */
  edgeVars: Record<string, string>;
  log: (line: string) => void;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LoadTarget> {
  const models = await ensureModels(
    options.modelsDir,
    [...EDGE_MODELS, ...ORIGIN_MODELS],
    options.weights,
    options.log,
  );
  const secret = randomBytes(32).toString('hex');
  const apiKey = randomBytes(24).toString('hex');
  const origin = new OriginProcess(
    {
      ORIGIN_HOST: '127.0.0.1',
      ORIGIN_PORT: '0',
      ORIGIN_MODELS_DIR: options.modelsDir,
      ORIGIN_MODELS: ORIGIN_MODELS.map((m) => m.id).join(','),
      ORIGIN_HMAC_KEYS: `${KEY_ID}:${secret}`,
      ORIGIN_EXECUTION_PROVIDERS: 'cpu',
      ...options.originEnv,
    },
    options.log,
  );
  await origin.start();
  const originUrl = origin.url;

  const persist = await mkdtemp(path.join(tmpdir(), 'loadtest-edge-'));
  let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
  try {
    await fillLocalStorage(persist, {
      models: models.filter((m) => EDGE_MODELS.some((e) => e.id === m.id)),
    });
    process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
    process.env.WRANGLER_SEND_METRICS ??= 'false';
    const vars: Record<string, string> = {
      // A key of this run only: the load goes through the same key check as production traffic.
      API_KEYS: apiKey,
      ORIGIN_URL: originUrl,
      ORIGIN_KEY_ID: KEY_ID,
      ORIGIN_SECRET: secret,
      ...options.edgeVars,
    };
    worker = await unstable_startWorker({
      config: path.join(REPO_ROOT, 'wrangler.toml'),
      bindings: Object.fromEntries(
        Object.entries(vars).map(([name, value]) => [name, { type: 'plain_text' as const, value }]),
      ),
      dev: {
        persist,
        server: { hostname: '127.0.0.1', port: 0 },
        inspector: false,
        watch: false,
        logLevel: 'error',
      },
    });
    await worker.ready;
  } catch (error) {
    await worker?.dispose().catch(() => undefined);
    await origin.kill();
    await rm(persist, { recursive: true, force: true });
    throw error;
  }
  const edgeUrl = (await worker.url).toString().replace(/\/$/, '');
  options.log(
    `edge ${edgeUrl} (workerd), origin ${originUrl} (${ORIGIN_MODELS.map((m) => m.id).join(', ')})`,
  );
  const untrained = models.filter((m) => m.weights === 'untrained').map((m) => m.id);
  if (untrained.length > 0) options.log(`untrained weights (labels meaningless): ${untrained.join(', ')}`);
  return {
    edgeUrl,
    headers: { authorization: `Bearer ${apiKey}` },
    originUrl,
    chaos: { killOrigin: () => origin.kill(), startOrigin: () => origin.start() },
    dispose: async () => {
      try {
        await worker?.dispose();
      } finally {
        await origin.kill();
        await rm(persist, { recursive: true, force: true });
      }
    },
  };
}

/** URLs started elsewhere (`npm start`, a staging stack): load only, no chaos. */
export function givenTarget(
  edgeUrl: string,
  originUrl: string | undefined,
  apiKey: string | undefined,
): LoadTarget {
  return {
    edgeUrl: edgeUrl.replace(/\/$/, ''),
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    originUrl,
    dispose: async () => undefined,
  };
}

/**
 * The origin as a child process. Port 0 on the first start lets the system pick a free port; later starts
 * reuse that port so the edge's ORIGIN_URL stays valid.
 */
class OriginProcess {
  private child: ChildProcess | undefined;
  private port = 0;
  private readonly logs: string[] = [];

  constructor(
    private readonly env: Record<string, string>,
    private readonly log: (line: string) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // Node itself (not the tsx wrapper) so that SIGKILL reaches the process holding the port.
    const child = spawn(process.execPath, ['--import', 'tsx', 'gpu-origin/main.ts'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env, ORIGIN_PORT: String(this.port) },
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.logs.push(chunk.toString());
      if (this.logs.length > 200) this.logs.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      // Ours to kill only; any other exit is a finding of the run.
      if (this.child === child)
        this.log(`the origin exited on its own (${code ?? signal}):\n${this.logs.slice(-20).join('')}`);
    });
    if (this.port === 0) this.port = await this.listeningPort(child);
    await this.waitForReady(child);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** The origin logs the address it bound; with port 0 that is the only way to learn it. */
  private listeningPort(child: ChildProcess): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the origin did not report its port:\n${this.logs.join('')}`)),
        ORIGIN_READY_TIMEOUT_MS,
      );
      const onData = () => {
        const match = /https?:\/\/[^\s:]+:(\d+)/.exec(this.logs.join(''));
        if (!match) return;
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(Number(match[1]));
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the origin exited (${code ?? signal}) before listening:\n${this.logs.join('')}`));
      });
    });
  }

  private async waitForReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + ORIGIN_READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `the origin exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.logs.join('')}`,
        );
      }
      const ready = await fetch(`${this.url}/v2/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`the origin was not ready after ${ORIGIN_READY_TIMEOUT_MS / 1000} s`);
  }
}
