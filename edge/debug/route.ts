// Internal numbers for benchmarks and tests. Mounted only when DEBUG_ROUTES=1 and kept out of the
// OpenAPI document; production deployments never set it.
import { Hono } from 'hono';
import { edgeConfig } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';
import {
  EXPECTED_ORT_VERSION,
  ORT_WASM_FILE,
  ortVersion,
  wasmHeapBytes,
} from '../inference/ort-wasm-shim.ts';
import { sessionStats } from '../inference/registry.ts';

export const DEBUG_PREFIX = '/_debug';

export function debugRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.use('*', async (c, next) => {
    if (!edgeConfig(c.env).debugRoutes) return c.notFound();
    await next();
  });
  routes.get('/inference', (c) =>
    c.json({
      ort_version: ortVersion(),
      expected_ort_version: EXPECTED_ORT_VERSION,
      ort_wasm_file: ORT_WASM_FILE,
      wasm_heap_bytes: wasmHeapBytes(),
      sessions: sessionStats(),
    }),
  );
  return routes;
}
