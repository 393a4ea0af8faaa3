import { createRoute, type RouteHandler } from '@hono/zod-openapi';
import { type ModelInfo, ModelsResponseSchema } from '../../shared/api/models.ts';
import { CATALOG, type CatalogEntry } from '../../shared/catalog/models.ts';
import type { EdgeCompute } from '../compute.ts';
import type { AppEnv } from '../http/app-env.ts';

export const modelsRoute = createRoute({
  method: 'get',
  path: '/v1/models',
  summary: 'The model catalog: where each model runs and whether it is loaded here',
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'All models.', content: { 'application/json': { schema: ModelsResponseSchema } } },
  },
});

export const modelsHandler =
  (compute: EdgeCompute): RouteHandler<typeof modelsRoute, AppEnv> =>
  async (c) => {
    const models = await Promise.all(Object.values(CATALOG).map((entry) => describe(compute, c.env, entry)));
    return c.json({ models }, 200);
  };

async function describe(compute: EdgeCompute, env: Env, entry: CatalogEntry): Promise<ModelInfo> {
  const info: ModelInfo = {
    id: entry.id,
    resolution: entry.resolution,
    placement: entry.placement,
    loaded: entry.placement === 'edge' && compute.isLoaded(entry.id),
    weights: 'unknown',
  };
  // The edge knows its own models' weights from model.json in R2; origin models are the origin's to report.
  if (entry.placement === 'edge') info.weights = (await compute.weightsOf(env, entry.id)) ?? 'unknown';
  return info;
}
