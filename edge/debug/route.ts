// Internal numbers for benchmarks and tests. The app mounts them under /_debug only when DEBUG_ROUTES=1
// and keeps them out of the OpenAPI document; production deployments never set it.
import { Hono } from 'hono';
import { ApiError } from '../../shared/http/errors.ts';
import type { AppEnv } from '../http/app-env.ts';
import {
  EXPECTED_ORT_VERSION,
  ORT_WASM_FILE,
  ortVersion,
  wasmHeapBytes,
} from '../inference/ort-wasm-shim.ts';
import { loadTimings, sessionStats } from '../inference/registry.ts';
import { isProfilableId, syntheticRun } from '../inference/synthetic-run.ts';

export function debugRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/inference', (c) =>
    c.json({
      ort_version: ortVersion(),
      expected_ort_version: EXPECTED_ORT_VERSION,
      ort_wasm_file: ORT_WASM_FILE,
      wasm_heap_bytes: wasmHeapBytes(),
      sessions: sessionStats(),
      load_ms: loadTimings(),
    }),
  );
  // One inference on a synthetic input (infra/profile times it from outside).
  routes.post('/run', async (c) => {
    const id = c.req.query('model') ?? '';
    if (!isProfilableId(id))
      throw new ApiError('invalid_parameter', 'model must name a model id, e.g. efficientnet-b3.');
    const run = await syntheticRun(c.env, id);
    return c.json({ ...run, wasm_heap_bytes: wasmHeapBytes(), load_ms: loadTimings()[id as never] });
  });
  return routes;
}
