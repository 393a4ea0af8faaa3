// Boots the real Worker (edge/index.ts) in workerd through wrangler's unstable_startWorker, with its R2
// bucket (and optionally a KV namespace) filled beforehand by infra/dev/local-r2.ts, as `npm start` does.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { unstable_DevEnv, unstable_startWorker } from 'wrangler';
import { REPO_ROOT } from '../models/build.ts';
import { API_KEYS_KV_ID, fillLocalStorage, type ProfileFile } from './local-r2.ts';

export { REPO_ROOT };

const WRANGLER_TOML = path.join(REPO_ROOT, 'wrangler.toml');

/** A model directory as the factory writes it: model.json, model.onnx and, when split, model.onnx.data. */
export interface ModelFiles {
  /** The R2 prefix (the model id). */
  id: string;
  dir: string;
}

export interface BootOptions {
  models?: readonly ModelFiles[];
  /** Measured profiles to put in the model bucket, as a deploy uploads them. */
  profiles?: readonly ProfileFile[];
  /** Extra plain-text vars, e.g. { DEBUG_ROUTES: '1' }. */
  vars?: Record<string, string>;
  /** Secrets, e.g. { API_KEYS: 'k1,k2' }: bound like `wrangler secret put`, so wrangler prints "(hidden)". */
  secrets?: Record<string, string>;
  /** When given, binds API_KEYS_KV to a local namespace holding these keys. */
  kvKeys?: readonly string[];
  /**
   * Output of `bundleWorker()`: run that bundle instead of bundling edge/index.ts. wrangler's dev
   * bundler watches the sources and restarts the isolate when one changes; a prebuilt bundle keeps a
   * long measurement on one isolate while the sources are being edited.
   */
  prebuilt?: string;
  /** wrangler's own log level (default 'log'; benchmarks use 'none' to keep stdout for JSON). */
  logLevel?: 'none' | 'error' | 'warn' | 'log';
  /**
   * Return as soon as the dev proxy is up, as `unstable_startWorker`'s `ready` does, without waiting for
   * the Worker's runtime: the first request then waits for it (measurements of that wait only).
   */
  returnAtProxyReady?: boolean;
}

/** The edge decoder alone in workerd (infra/dev/edge-decode-worker.ts), for decode tests and benches. */
export async function startDecodeWorker() {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
  const worker = await unstable_startWorker({
    config: path.join(REPO_ROOT, 'infra/dev/edge-decode-worker.wrangler.toml'),
    dev: { server: { port: 0 }, inspector: false, watch: false, logLevel: 'warn' },
  });
  await worker.ready;
  return worker;
}

/** `wrangler deploy --dry-run --outdir <dir>`: the exact bundle a deploy would upload. */
export async function bundleWorker(outdir: string): Promise<string> {
  const wrangler = path.join(REPO_ROOT, 'node_modules/.bin/wrangler');
  await promisify(execFile)(wrangler, ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: REPO_ROOT,
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
  });
  return outdir;
}

export interface BootedWorker {
  /** wrangler's local dev proxy (its ProxyWorker, in a workerd of its own) in front of the Worker. */
  url: URL;
  /** fetch() against the Worker through the dev proxy, path relative to its root. */
  fetch(pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /**
   * The Worker's own workerd socket (Miniflare's entry worker routes it to the Worker), without
   * wrangler's dev proxy: what a deployed Worker has nothing like (infra/bench/edge-first.ts).
   */
  directUrl: Promise<URL>;
  /** fetch() straight to directUrl. */
  fetchDirect(pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /**
   * Milliseconds from the call of bootWorker until the dev proxy, and the Worker's runtime, were up;
   * runtimeStartMs: from wrangler starting the runtime (Miniflare: workerd spawned, the bundle compiled
   * and its top-level code run) until it listened.
   */
  startup: { proxyReadyMs: number; runtimeReadyMs: Promise<number>; runtimeStartMs: Promise<number> };
  /** Console output of the Worker (workerd's stdout and stderr), for assertions on log lines. */
  logs(): string;
  dispose(): Promise<void>;
}

export async function bootWorker(options: BootOptions = {}): Promise<BootedWorker> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  process.env.WRANGLER_SEND_METRICS = 'false';
  const persist = await mkdtemp(path.join(tmpdir(), 'edge-workerd-'));
  await fillLocalStorage(persist, {
    ...(options.models ? { models: options.models } : {}),
    ...(options.profiles ? { profiles: options.profiles } : {}),
    ...(options.kvKeys ? { kvKeys: options.kvKeys } : {}),
  });

  const bindings: Record<
    string,
    { type: 'plain_text' | 'secret_text'; value: string } | { type: 'kv_namespace'; id: string }
  > = {};
  for (const [name, value] of Object.entries(options.vars ?? {}))
    bindings[name] = { type: 'plain_text', value };
  for (const [name, value] of Object.entries(options.secrets ?? {}))
    bindings[name] = { type: 'secret_text', value };
  if (options.kvKeys) bindings.API_KEYS_KV = { type: 'kv_namespace', id: API_KEYS_KV_ID };

  const captured: string[] = [];
  const restore = captureConsole(captured);
  let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
  // unstable_startWorker is `new DevEnv().startWorker()`, and its `ready` only means that the dev proxy
  // is up: the Worker's own workerd may still be starting, and a request sent then waits for it in the
  // proxy. The runtime announces its socket to the proxy in a reloadComplete event, read here on its way:
  // the Worker is booted when that has arrived (infra/bench/edge-first.ts measured the difference).
  const devEnv = new unstable_DevEnv();
  let announced: (url: URL) => void = () => undefined;
  const runtimeUp = new Promise<URL>((resolve) => {
    announced = resolve;
  });
  const dispatch = devEnv.dispatch.bind(devEnv);
  let reloadStarted = Number.NaN;
  devEnv.dispatch = (event) => {
    if (event.type === 'reloadStart') reloadStarted = performance.now();
    if (event.type === 'reloadComplete') {
      const { protocol, hostname, port } = event.proxyData.userWorkerUrl;
      announced(new URL(`${protocol}//${hostname}:${port}/`));
    }
    dispatch(event);
  };
  const bootStarted = performance.now();
  const runtimeReadyMs = runtimeUp.then(() => performance.now() - bootStarted);
  const runtimeStartMs = runtimeUp.then(() => performance.now() - reloadStarted);
  const directUrl = withTimeout(runtimeUp, RUNTIME_START_TIMEOUT_MS, 'the Worker runtime did not start');
  // Not awaited in returnAtProxyReady mode: keep a failure from going unhandled there.
  directUrl.catch(() => undefined);
  let proxyReadyMs = 0;
  try {
    worker = await devEnv.startWorker({
      config: WRANGLER_TOML,
      ...(options.prebuilt
        ? {
            entrypoint: path.join(options.prebuilt, 'index.js'),
            build: {
              bundle: false,
              findAdditionalModules: true,
              moduleRoot: options.prebuilt,
              moduleRules: [{ type: 'CompiledWasm', globs: ['**/*.wasm'] }],
            },
          }
        : {}),
      bindings,
      dev: {
        persist,
        server: { hostname: '127.0.0.1', port: 0 },
        inspector: false,
        watch: false,
        logLevel: options.logLevel ?? 'log',
      },
    });
    await worker.ready;
    proxyReadyMs = performance.now() - bootStarted;
    if (!options.returnAtProxyReady) await directUrl;
  } catch (error) {
    await worker?.dispose().catch(() => undefined);
    restore();
    await rm(persist, { recursive: true, force: true });
    throw error;
  }
  const started = worker;
  const url = await started.url;
  return {
    url,
    fetch: (pathAndQuery, init) => fetchThroughDevProxy(new URL(pathAndQuery, url), init),
    directUrl,
    fetchDirect: async (pathAndQuery, init) => fetch(new URL(pathAndQuery, await directUrl), init),
    startup: { proxyReadyMs, runtimeReadyMs, runtimeStartMs },
    logs: () => captured.join('\n'),
    dispose: async () => {
      try {
        await started.dispose();
      } finally {
        restore();
        await rm(persist, { recursive: true, force: true });
      }
    },
  };
}

/** How long the Worker's workerd may take to start once the dev proxy is up (minutes on a loaded machine). */
const RUNTIME_START_TIMEOUT_MS = 180_000;

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * wrangler's local dev proxy answers a request it could not hand over because the runtime was being
 * reloaded with this 503 (seen under heavy machine load even with watching off). The Worker never saw the
 * request, so it is not the Worker's answer: dev tooling retries it once. Only GET/HEAD are retried by
 * the proxy itself.
 */
export const DEV_PROXY_RESTART = 'Your worker restarted mid-request';

export async function fetchThroughDevProxy(url: URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (response.status !== 503) return response;
  const text = await response.clone().text();
  return text.startsWith(DEV_PROXY_RESTART) ? fetch(url, init) : response;
}

// workerd's console output reaches Node through wrangler's logger, i.e. console.* of this process.
function captureConsole(into: string[]): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originals = methods.map((name) => console[name]);
  for (const [i, name] of methods.entries()) {
    const original = originals[i] as (...args: unknown[]) => void;
    console[name] = (...args: unknown[]) => {
      into.push(args.map(String).join(' '));
      original.apply(console, args);
    };
  }
  return () => {
    for (const [i, name] of methods.entries()) console[name] = originals[i] as (typeof console)[typeof name];
  };
}
