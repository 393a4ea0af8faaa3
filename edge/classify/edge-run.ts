// One edge model on one decoded image: load (memoised per isolate), preprocess, run, top-k.
import { labelOffsetFor } from '../../shared/catalog/labels.ts';
import { CATALOG, type ModelId, preprocessFor } from '../../shared/catalog/models.ts';
import { ApiError } from '../../shared/http/errors.ts';
import type { RgbImage } from '../../shared/preprocess/index.ts';
import { loadedModel, ModelNotDeployedError } from '../inference/registry.ts';
import { imageTensor } from './image-tensor.ts';
import { topPredictions } from './predictions.ts';
import type { EdgeRun } from './run-result.ts';

export type { EdgeRun } from './run-result.ts';

export async function runEdgeModel(env: Env, id: ModelId, image: RgbImage, topK: number): Promise<EdgeRun> {
  // The manifest says which preprocessing the weights were trained with.
  const model = await loadEdgeModel(env, id);
  const { variant } = CATALOG[id];
  const labelOffset = labelOffsetFor(model.manifest.output.classes);
  const spec = preprocessFor(variant, model.manifest.source);
  if (spec.cropSize !== model.manifest.resolution) {
    throw new ApiError(
      'model_unavailable',
      `${id} was built for ${model.manifest.resolution}px input but its weights expect ${spec.cropSize}px.`,
    );
  }
  const preprocessStarted = performance.now();
  const { tensor, dims } = imageTensor(image, spec);
  const preprocessMs = performance.now() - preprocessStarted;

  const inferenceStarted = performance.now();
  const logits = await model.classifier.run(tensor, dims);
  const inferenceMs = performance.now() - inferenceStarted;

  const predictions = topPredictions(logits, Math.max(1, topK), labelOffset);
  return {
    model: id,
    weights: model.manifest.weights,
    predictions,
    top1: predictions[0]?.score ?? Number.NaN,
    preprocessMs,
    inferenceMs,
  };
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
