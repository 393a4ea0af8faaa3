import type { RouteHandler } from '@hono/zod-openapi';
import type { ClassifyParams, ClassifyResponse } from '../../shared/api/classify.ts';
import { CATALOG, type ModelId, preprocessFor } from '../../shared/catalog/models.ts';
import { type EdgeOnlyPlan, planRoute } from '../../shared/policy/escalation.ts';
import { maxBodyBytes, maxImagePixels } from '../config.ts';
import { ApiError } from '../http/api-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { loadedModel, ModelNotDeployedError } from '../inference/registry.ts';
import { decodeChecked, imageLimits, imageTensor } from './image-tensor.ts';
import { classifyInput } from './input.ts';
import { topPredictions } from './predictions.ts';
import type { classifyRoute } from './route.ts';

export const classifyHandler: RouteHandler<typeof classifyRoute, AppEnv> = async (c) => {
  const started = performance.now();
  const valid = {
    query: c.req.valid('query'),
    // zod-openapi validated whichever body form the Content-Type named; its route typings only know
    // the query when a route declares several body media types.
    json: c.req.valid('json' as never) as (ClassifyParams & { image: string }) | undefined,
    form: c.req.valid('form' as never) as (ClassifyParams & { image: File }) | undefined,
  };
  const { image: input, params } = await classifyInput(c, valid);
  const plan = edgePlan(params);
  const limits = imageLimits(maxBodyBytes(c.env), maxImagePixels(c.env));

  const image = await decodeChecked(input, limits);
  const decoded = performance.now();

  // Memoised per isolate; the manifest says which preprocessing the weights were trained with.
  const model = await loadEdgeModel(c.env, plan.edgeModel);
  const { variant } = CATALOG[plan.edgeModel];
  // 1001 outputs means a leading background class (TF-trained checkpoints).
  const labelOffset = Math.max(CATALOG[plan.edgeModel].labelOffset, model.manifest.output.classes - 1000);
  const spec = preprocessFor(variant, model.manifest.source);
  if (spec.cropSize !== model.manifest.resolution) {
    throw new ApiError(
      'model_unavailable',
      `${plan.edgeModel} was built for ${model.manifest.resolution}px input but its weights expect ${spec.cropSize}px.`,
    );
  }
  const preprocessStarted = performance.now();
  const { tensor, dims } = imageTensor(image, spec);
  const preprocessMs = performance.now() - preprocessStarted;

  const inferenceStarted = performance.now();
  const logits = await model.classifier.run(tensor, dims);
  const inferenceMs = performance.now() - inferenceStarted;

  const body: ClassifyResponse = {
    request_id: c.get('requestId'),
    model: plan.edgeModel,
    tier: plan.tier,
    weights: model.manifest.weights,
    predictions: topPredictions(logits, params.top_k, labelOffset),
    timings_ms: {
      decode: round(decoded - started),
      preprocess: round(preprocessMs),
      inference: round(inferenceMs),
      total: round(performance.now() - started),
    },
  };
  return c.json(body, 200);
};

/**
 * The edge answers fast, balanced and explicit edge models. Plans that need the GPU origin (auto,
 * accurate, max, origin-placed models) are refused here until the origin client is wired in: that is the
 * one branch to replace, the rest of the handler stays.
 */
function edgePlan(params: ClassifyParams): EdgeOnlyPlan {
  const plan = planRoute(params);
  if (plan.kind === 'edge') return plan;
  if (params.model !== undefined) {
    throw new ApiError(
      'model_unavailable',
      `${params.model} runs on the GPU origin, which this deployment does not reach yet; edge models: ${edgeModels().join(', ')}.`,
    );
  }
  throw new ApiError(
    'tier_unavailable',
    `Tier "${plan.tier}" needs the GPU origin, which this deployment does not reach yet; use tier=fast or tier=balanced.`,
  );
}

async function loadEdgeModel(env: Env, id: ModelId) {
  try {
    return await loadedModel(env, id);
  } catch (error) {
    if (error instanceof ModelNotDeployedError)
      throw new ApiError('model_unavailable', `${id} is not deployed to the model bucket.`);
    console.error(JSON.stringify({ msg: 'model load failed', model: id, error: String(error) }));
    throw new ApiError('model_unavailable', `${id} could not be loaded; try again later.`);
  }
}

function edgeModels(): ModelId[] {
  return Object.values(CATALOG)
    .filter((entry) => entry.placement === 'edge')
    .map((entry) => entry.id);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
