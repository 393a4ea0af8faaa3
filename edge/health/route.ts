import { createRoute, type RouteHandler, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.ts';

export const HealthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness: the Worker answers (it does not load models)',
  responses: { 200: { description: 'Alive.', content: { 'application/json': { schema: HealthSchema } } } },
});

export const healthHandler: RouteHandler<typeof healthRoute, AppEnv> = (c) =>
  c.json({ status: 'ok' as const }, 200);
