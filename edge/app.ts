// The edge app without its runtimes: every route, middleware and error path, with decoding, inference
// and the model bucket injected (edge/index.ts wires the WASM ones). Importing this pulls in no WASM,
// so tests build it in Node and call it through app.request().
import type { OpenAPIHono } from '@hono/zod-openapi';
import { sendError } from '../shared/http/errors.ts';
import { requestIds } from '../shared/http/request-id.ts';
import { VERSION } from '../shared/version.ts';
import { apiKeyAuth } from './auth/api-key.ts';
import { batchHandler } from './classify/batch-handler.ts';
import { batchRoute } from './classify/batch-route.ts';
import { classifyHandler } from './classify/handler.ts';
import { classifyRoute } from './classify/route.ts';
import { batchHook, singleImageHook } from './classify/validation.ts';
import type { EdgeCompute } from './compute.ts';
import { edgeConfig, requireConfig } from './config.ts';
import { healthHandler, healthRoute } from './health/route.ts';
import type { AppEnv } from './http/app-env.ts';
import { createApp } from './http/create-app.ts';
import { modelsHandler, modelsRoute } from './models/route.ts';
import { INDEX_HTML } from './web/page.ts';

export type { EdgeCompute } from './compute.ts';

export const DEBUG_PREFIX = '/_debug';

/** POST /v1/classify, POST /v1/classify/batch, GET /v1/models, GET /healthz, /openapi.json, the demo page at / and /_debug. */
export function createEdgeApp(compute: EdgeCompute): OpenAPIHono<AppEnv> {
  const app = createApp();

  app.use('*', requestIds());
  app.use('*', requireConfig());
  app.use('*', apiKeyAuth({ publicPaths: ['/', '/healthz', '/openapi.json'] }));

  app.use(classifyRoute.path, async (c, next) => {
    c.set('uploadBuffer', compute.uploadBuffer);
    await next();
  });
  app.openapi(classifyRoute, classifyHandler(compute), singleImageHook);
  app.all(classifyRoute.path, (c) => sendError(c, 'method_not_allowed', 'Use POST for /v1/classify.'));
  app.openapi(batchRoute, batchHandler(compute), batchHook);
  app.all(batchRoute.path, (c) => sendError(c, 'method_not_allowed', 'Use POST for /v1/classify/batch.'));
  app.openapi(modelsRoute, modelsHandler(compute));
  app.openapi(healthRoute, healthHandler);
  app.get('/', (c) => c.html(INDEX_HTML));

  // Off unless DEBUG_ROUTES=1: then an unknown path, not a refusal.
  app.use(`${DEBUG_PREFIX}/*`, async (c, next) => {
    if (!edgeConfig(c.env).debugRoutes) return c.notFound();
    await next();
  });
  if (compute.debugRoutes) app.route(DEBUG_PREFIX, compute.debugRoutes);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Edge image classification API',
      version: VERSION,
      description:
        'EfficientNet-B0/B1 on Cloudflare Workers, escalating to EfficientNet-B5..B7 on a GPU origin.',
    },
  });
  return app;
}
