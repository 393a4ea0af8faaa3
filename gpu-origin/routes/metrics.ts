import { Hono } from 'hono';
import type { AppEnv } from '../http/env.ts';
import type { OriginMetrics } from '../metrics/origin-metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/registry.ts';

export function metricsRoutes(metrics: OriginMetrics) {
  const app = new Hono<AppEnv>();
  app.get('/metrics', (c) =>
    c.body(metrics.registry.render(), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }),
  );
  return app;
}
