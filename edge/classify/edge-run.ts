// One edge model on one decoded image: load (memoised per isolate), preprocess, run, top-k.
import { labelOffsetFor } from '../../shared/catalog/labels.ts';
import type { ModelManifest } from '../../shared/catalog/manifest.ts';
import { CATALOG, type ModelId, preprocessFor } from '../../shared/catalog/models.ts';
import { ApiError } from '../../shared/http/errors.ts';
import type { PreprocessSpec, RgbImage } from '../../shared/preprocess/index.ts';
import { GraphInputMismatchError } from '../inference/classifier.ts';
import {
  deployedManifest,
  isLoaded,
  type LoadedModel,
  loadedModel,
  ModelNotDeployedError,
} from '../inference/registry.ts';
import { imageTensor } from './image-tensor.ts';
import { topPredictions } from './predictions.ts';
import type { EdgeRun } from './run-result.ts';

export type { EdgeRun } from './run-result.ts';

export async function runEdgeModel(env: Env, id: ModelId, image: RgbImage, topK: number): Promise<EdgeRun> {
  // On a model's first request, preprocess before its session is created: model.json (read first,
  // cheap) is all preprocessing needs, and the preprocessing code then runs before ORT's WASM starts
  // and V8's background compilers are busy with it (docs/benchmarks.md, edge cold start).
  const loaded = isLoaded(id) ? await loadEdgeModel(env, id) : undefined;
  const manifest = loaded?.manifest ?? (await modelStep(id, () => deployedManifest(env, id)));
  const spec = checkedSpec(id, manifest);
  const preprocessStarted = performance.now();
  const { tensor, dims } = imageTensor(image, spec);
  const preprocessMs = performance.now() - preprocessStarted;
  const model = loaded ?? (await loadEdgeModel(env, id, manifest));

  const inferenceStarted = performance.now();
  const logits = await model.classifier.run(tensor, dims);
  const inferenceMs = performance.now() - inferenceStarted;

  const predictions = topPredictions(logits, Math.max(1, topK), labelOffsetFor(manifest.output.classes));
  return {
    model: id,
    weights: manifest.weights,
    predictions,
    top1: predictions[0]?.score ?? Number.NaN,
    preprocessMs,
    inferenceMs,
  };
}

/** The manifest says which preprocessing the weights were trained with. */
function checkedSpec(id: ModelId, manifest: ModelManifest): PreprocessSpec {
  const spec = preprocessFor(CATALOG[id].variant, manifest.source);
  if (spec.cropSize !== manifest.resolution) {
    throw new ApiError(
      'model_unavailable',
      `${id} was built for ${manifest.resolution}px input but its weights expect ${spec.cropSize}px.`,
    );
  }
  return spec;
}

function loadEdgeModel(env: Env, id: ModelId, manifest?: ModelManifest): Promise<LoadedModel> {
  return modelStep(id, () => loadedModel(env, id, manifest));
}

/**
 * A model that is not in the bucket or cannot be loaded becomes the same 503 envelope at every step; one
 * whose graph disagrees with its model.json says so, since trying again will not help.
 */
async function modelStep<T>(id: ModelId, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ModelNotDeployedError)
      throw new ApiError('model_unavailable', `${id} is not deployed to the model bucket.`);
    console.error(JSON.stringify({ msg: 'model load failed', model: id, error: String(error) }));
    if (error instanceof GraphInputMismatchError)
      throw new ApiError('model_unavailable', `${id} cannot be served: ${error.message}.`);
    throw new ApiError('model_unavailable', `${id} could not be loaded; try again later.`);
  }
}
