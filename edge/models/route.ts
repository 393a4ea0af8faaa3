import { createRoute, type RouteHandler } from '@hono/zod-openapi';
import { type ModelInfo, type ModelLatency, ModelsResponseSchema } from '../../shared/api/models.ts';
import { CATALOG, type CatalogEntry } from '../../shared/catalog/models.ts';
import type { MeasuredProfile } from '../../shared/catalog/profile.ts';
import type { EdgeCompute } from '../compute.ts';
import type { AppEnv } from '../http/app-env.ts';
import { measuredProfiles, rowFor } from './profiles.ts';

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
    const profiles = await measuredProfiles(c.env);
    const models = await Promise.all(
      Object.values(CATALOG).map((entry) => describe(compute, c.env, entry, profiles[entry.placement])),
    );
    return c.json({ models }, 200);
  };

// Both profiles are deployed to R2 with the models: the edge's from its own workerd runs, the origin's
// from `npm run profile -- --runtime origin` on the origin's hardware. The listing stays up without them.
function latencyOf(profile: MeasuredProfile | null, entry: CatalogEntry): ModelLatency | undefined {
  const row = rowFor(profile, entry);
  if (!profile || !row) return undefined;
  return {
    runtime: profile.runtime,
    provider: row.provider,
    p50_ms: row.p50_ms,
    p95_ms: row.p95_ms,
    measured_at: profile.date,
  };
}

async function describe(
  compute: EdgeCompute,
  env: Env,
  entry: CatalogEntry,
  profile: MeasuredProfile | null,
): Promise<ModelInfo> {
  const info: ModelInfo = {
    id: entry.id,
    resolution: entry.resolution,
    placement: entry.placement,
    loaded: entry.placement === 'edge' && compute.isLoaded(entry.id),
    weights: 'unknown',
  };
  const latency = latencyOf(profile, entry);
  if (latency) info.latency = latency;
  // The edge knows its own models' weights from model.json in R2; origin models are the origin's to report.
  if (entry.placement === 'edge') info.weights = (await compute.weightsOf(env, entry.id)) ?? 'unknown';
  return info;
}
