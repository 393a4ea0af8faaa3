// What the load test runs against: the local stack it starts itself (the origin as its own Node process, the
// edge Worker in local workerd with R2 filled, as `npm start` does), or URLs someone else started. Only the
// local stack can kill and restart the origin, which the chaos phase needs.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ensureModels, type WantedModel, type WeightsPreference } from '../dev/ensure-models.ts';
import {
  killOrigin,
  listeningPort,
  type OriginProcessOptions,
  recentOutput,
  spawnOrigin,
  waitForOrigin,
} from '../dev/origin-process.ts';
import { type BootedWorker, bootWorker } from '../dev/workerd.ts';

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
const EDGE_MODELS: WantedModel[] = [{ id: 'efficientnet-b0', split: true, optimize: true }];
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
      modelsDir: options.modelsDir,
      models: ORIGIN_MODELS.map((m) => m.id),
      hmacKeys: `${KEY_ID}:${secret}`,
      env: { ORIGIN_EXECUTION_PROVIDERS: 'cpu', ...options.originEnv },
    },
    options.log,
  );
  await origin.start();
  const originUrl = origin.url;

  let worker: BootedWorker;
  try {
    worker = await bootWorker({
      models: models.filter((m) => EDGE_MODELS.some((e) => e.id === m.id)),
      // A key of this run only: the load goes through the same key check as production traffic.
      secrets: { API_KEYS: apiKey, ORIGIN_SECRET: secret },
      // Load repeats a few images: with the result cache on it would measure the cache, not the stack.
      vars: { ORIGIN_URL: originUrl, ORIGIN_KEY_ID: KEY_ID, RESULT_CACHE_TTL_S: '0', ...options.edgeVars },
      logLevel: 'error',
    });
  } catch (error) {
    await origin.kill();
    throw error;
  }
  const edgeUrl = worker.url.toString().replace(/\/$/, '');
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
        await worker.dispose();
      } finally {
        await origin.kill();
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
 * The origin as a child process (infra/dev/origin-process.ts). Port 0 on the first start lets the system
 * pick a free port; later starts reuse that port so the edge's ORIGIN_URL stays valid.
 */
class OriginProcess {
  private child: ChildProcess | undefined;
  private port = 0;
  private readonly output = recentOutput();

  constructor(
    private readonly settings: Omit<OriginProcessOptions, 'port' | 'output'>,
    private readonly log: (line: string) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawnOrigin({ ...this.settings, port: this.port, output: this.output.push });
    this.child = child;
    child.once('exit', (code, signal) => {
      // Ours to kill only; any other exit is a finding of the run.
      if (this.child === child)
        this.log(`the origin exited on its own (${code ?? signal}):\n${this.output.text(20)}`);
    });
    const logs = () => this.output.text();
    if (this.port === 0) this.port = await listeningPort(child, ORIGIN_READY_TIMEOUT_MS, logs);
    await waitForOrigin(this.url, child, ORIGIN_READY_TIMEOUT_MS, logs);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await killOrigin(child);
  }
}
