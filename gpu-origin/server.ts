import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { type OriginConfig, requireSigningOrOptOut } from './config/config.ts';
import { InFlight } from './http/in-flight.ts';
import { createPreprocessPool, type Preparer } from './image/preprocess-pool.ts';
import { setOrtLogLevel } from './inference/ort-classifier.ts';
import { createOriginMetrics } from './metrics/origin-metrics.ts';
import { ModelRegistry } from './models/registry.ts';

export interface OriginServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  registry: ModelRegistry;
  /** Decode + preprocess; its stats show how many images were handed to a decoder. */
  preparer: Preparer;
  /** Resolves when every configured model is loaded and warmed; rejects if one cannot be. */
  loaded: Promise<void>;
  /** Stops accepting, finishes in-flight requests and queued batches, then releases the models. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
  /** Entry module of the preprocessing workers (default: the real one); lets a test crash a worker. */
  preprocessWorkerUrl?: URL;
}

/**
 * Listens at once (liveness answers during loading, readiness does not), then loads and warms the models.
 */
export async function startOrigin(config: OriginConfig, options: StartOptions = {}): Promise<OriginServer> {
  const log = options.log ?? ((line: string) => console.log(`[origin] ${line}`));
  // Also for configurations built in code, not only those parsed from the environment.
  requireSigningOrOptOut(config.hmacKeys, config.allowUnsigned);
  if (config.hmacKeys.size === 0) {
    log(
      'WARNING: ORIGIN_ALLOW_UNSIGNED=true and no ORIGIN_HMAC_KEYS: requests are NOT authenticated; anyone who can reach this port can use every route. Development only.',
    );
  } else {
    log(
      `signatures required (keys: ${[...config.hmacKeys.keys()].join(', ')}; audience: ${config.audiences.length > 0 ? config.audiences.join(', ') : 'the Host header of each request'})`,
    );
  }
  if (config.imageUrl.policy.unsafeTestLoopback)
    log(
      'WARNING: ORIGIN_IMAGE_URL_UNSAFE_TEST_LOOPBACK=true: image_url may fetch http: and loopback addresses of this machine. Tests only.',
    );
  setOrtLogLevel(config.ortLogLevel);
  const metrics = createOriginMetrics();
  const inFlight = new InFlight();
  const registry = new ModelRegistry({
    modelsDir: config.modelsDir,
    models: config.models,
    providers: config.providers,
    allowCpuFallback: config.allowCpuFallback,
    threads: config.threads,
    batching: { windowMs: config.batchWindowMs, maxBatch: config.maxBatch, maxQueue: config.maxQueue },
    profile: config.profile,
    warmup: { runs: config.warmupRuns, budgetMs: config.warmupBudgetMs },
    metrics,
    log,
  });
  const preparer = createPreprocessPool({
    size: config.preprocessWorkers,
    log,
    workerUrl: options.preprocessWorkerUrl,
  });
  const app = createApp({ ...config, registry, metrics, inFlight, preparer, log });

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  // 0.0.0.0 is the container default (Kubernetes reaches the pod on its own address); say so, since it
  // exposes the port on every interface of a laptop too.
  const scope =
    address.address === '0.0.0.0' || address.address === '::'
      ? `bound to ${address.address}: all interfaces; set ORIGIN_HOST=127.0.0.1 for this machine only`
      : `bound to ${address.address} only`;
  log(`listening on ${url} (${scope})`);

  const loaded = registry.load();
  // Callers observe failures through `loaded`; this only stops an unhandled-rejection crash meanwhile.
  loaded.catch(() => {});

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      registry.state = 'draining';
      let stopped = false;
      const serverClosed = new Promise<void>((resolve) =>
        server.close(() => {
          stopped = true;
          resolve();
        }),
      );
      const drained = await inFlight.idle(config.shutdownTimeoutMs);
      if (!drained)
        log(`shutdown: ${inFlight.size} requests still running after ${config.shutdownTimeoutMs} ms`);
      await registry.drain();
      // A handler has returned before its response is written: close keep-alive connections only once idle.
      const until = performance.now() + 2000;
      while (!stopped && performance.now() < until) {
        if ('closeIdleConnections' in server) server.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      if (!stopped && 'closeAllConnections' in server) server.closeAllConnections();
      await serverClosed;
      await loaded.catch(() => {});
      await registry.dispose();
      await preparer.close();
    })();
    return closing;
  };
  return { url, registry, preparer, loaded, close };
}
