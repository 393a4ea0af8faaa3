// The edge Worker: POST /v1/classify on EfficientNet-B0/B1 (onnxruntime-web in workerd), GET /v1/models,
// GET /healthz, the OpenAPI document at /openapi.json and the demo page at /.
import { sendError } from '../shared/http/errors.ts';
import { requestIds } from '../shared/http/request-id.ts';
import { VERSION } from '../shared/version.ts';
import { apiKeyAuth } from './auth/api-key.ts';
import { classifyHandler } from './classify/handler.ts';
import { classifyRoute } from './classify/route.ts';
import { requireConfig } from './config.ts';
import { DEBUG_PREFIX, debugRoutes } from './debug/route.ts';
import { healthHandler, healthRoute } from './health/route.ts';
import { createApp } from './http/create-app.ts';
import { modelsHandler, modelsRoute } from './models/route.ts';
import { INDEX_HTML } from './web/page.ts';

const app = createApp();

app.use('*', requestIds());
app.use('*', requireConfig());
app.use('*', apiKeyAuth({ publicPaths: ['/', '/healthz', '/openapi.json'] }));

app.openapi(classifyRoute, classifyHandler);
app.all(classifyRoute.path, (c) => sendError(c, 'method_not_allowed', 'Use POST for /v1/classify.'));
app.openapi(modelsRoute, modelsHandler);
app.openapi(healthRoute, healthHandler);
app.get('/', (c) => c.html(INDEX_HTML));
app.route(DEBUG_PREFIX, debugRoutes());

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

export default app satisfies ExportedHandler<Env>;
