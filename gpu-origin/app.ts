import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, errorHandler, notFound } from '../shared/http/errors.ts';
import { requestIds } from '../shared/http/request-id.ts';
import type { UrlPolicy } from '../shared/net/url-policy.ts';
import { createVerifier } from '../shared/signing/verify.ts';
import { VERSION } from '../shared/version.ts';
import { accessLog } from './http/access-log.ts';
import type { AppEnv } from './http/env.ts';
import type { InFlight } from './http/in-flight.ts';
import { requestMetrics } from './http/metrics-middleware.ts';
import { errorWriterFor } from './http/open-inference-error.ts';
import { queueWaitHeader } from './http/queue-wait.ts';
import type { Preparer } from './image/preprocess-pool.ts';
import type { Resolver } from './image-url/fetch.ts';
import type { OriginMetrics } from './metrics/origin-metrics.ts';
import type { ModelRegistry } from './models/registry.ts';
import { classifyRoutes } from './routes/classify.ts';
import { classifyBatchRoutes } from './routes/classify-batch.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { openInferenceRoutes } from './routes/open-inference.ts';
import { requireSignature } from './signing/middleware.ts';

export interface AppOptions {
  registry: ModelRegistry;
  metrics: OriginMetrics;
  inFlight: InFlight;
  preparer: Preparer;
  hmacKeys: ReadonlyMap<string, string>;
  audiences: readonly string[];
  signatureMaxAgeMs: number;
  maxBodyBytes: number;
  maxImageBytes: number;
  maxPixels: number;
  defaultDeadlineMs: number;
  /** image_url in JSON bodies; `resolve` defaults to the system resolver. */
  imageUrl: { policy: UrlPolicy; timeoutMs: number; resolve?: Resolver };
  log: (line: string) => void;
}

export const SERVER_VERSION = VERSION;

// Probes and metrics stay unsigned: the kubelet and Prometheus cannot sign. Everything else needs a
// signature as soon as one key is configured.
const UNSIGNED = new Set(['/v2/health/live', '/v2/health/ready', '/metrics']);

export function createApp(options: AppOptions) {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler({ log: options.log, writerFor: errorWriterFor }));
  app.notFound(notFound({ writerFor: errorWriterFor }));
  app.use(requestIds());
  app.use(accessLog({ log: options.log, skip: UNSIGNED }));
  app.use(requestMetrics({ metrics: options.metrics }));
  app.use(options.inFlight.middleware());
  app.use(queueWaitHeader({ registry: options.registry }));
  app.use(async (c, next) => {
    await next();
    // While draining, tell clients not to reuse the connection.
    if (options.registry.state === 'draining') c.header('connection', 'close');
  });
  app.use(
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: () => {
        // The unread rest of the body would poison a reused connection: close it.
        throw new ApiError('payload_too_large', `the body exceeds ${options.maxBodyBytes} bytes`, {
          connection: 'close',
        });
      },
    }),
  );
  if (options.hmacKeys.size > 0) {
    const verify = requireSignature({
      verifier: createVerifier({
        keys: options.hmacKeys,
        audiences: options.audiences,
        maxAgeMs: options.signatureMaxAgeMs,
      }),
    });
    app.use(async (c, next) => (UNSIGNED.has(c.req.path) ? next() : verify(c, next)));
  }

  app.route('/', openInferenceRoutes({ ...options, serverVersion: SERVER_VERSION }));
  app.route(
    '/',
    classifyRoutes({ ...options, limits: { maxBytes: options.maxImageBytes, maxPixels: options.maxPixels } }),
  );
  app.route(
    '/',
    classifyBatchRoutes({
      ...options,
      limits: { maxBytes: options.maxImageBytes, maxPixels: options.maxPixels },
    }),
  );
  app.route('/', metricsRoutes(options.metrics));
  return app;
}
