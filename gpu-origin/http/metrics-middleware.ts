import type { MiddlewareHandler } from 'hono';
import type { OriginMetrics } from '../metrics/origin-metrics.ts';

export interface RequestMetricsOptions {
  metrics: OriginMetrics;
}

/** Counts and times every request by its route pattern (not the raw path, which would explode cardinality). */
export function requestMetrics({ metrics }: RequestMetricsOptions): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    // Unmatched paths all share one label.
    const route = c.req.routePath === '/*' ? 'unmatched' : c.req.routePath;
    metrics.requests.inc({ route, status: String(c.res.status) });
    metrics.latency.observe({ route }, (performance.now() - started) / 1000);
  };
}
