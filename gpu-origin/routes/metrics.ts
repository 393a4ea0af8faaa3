import { Hono } from 'hono';
import type { AppEnv } from '../http/env.ts';
import type { OriginMetrics } from '../metrics/origin-metrics.ts';

export function metricsRoutes(metrics: OriginMetrics) {
  const app = new Hono<AppEnv>();
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );
  return app;
}
