// The isolate's loaded models: one classifier per model id, created on first use and kept for the
// isolate's lifetime (a Worker isolate serves many requests; loading B0 costs ~0.5 s).

import type { ModelManifest } from '../../shared/catalog/manifest.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import { graphOptimization } from '../config.ts';
import { readManifest, readModel } from '../models/store.ts';
import { type Classifier, OrtWebClassifier } from './classifier.ts';
import { SessionCache } from './session-cache.ts';

export interface LoadedModel {
  manifest: ModelManifest;
  classifier: Classifier;
}

export class ModelNotDeployedError extends Error {
  override name = 'ModelNotDeployedError';
}

const sessions = new SessionCache<ModelId, LoadedModel>();

export function loadedModel(env: Env, id: ModelId): Promise<LoadedModel> {
  return sessions.get(id, async () => {
    const manifest = await readManifest(env.MODELS, id);
    if (!manifest) throw new ModelNotDeployedError(`${id} has no files in the model bucket`);
    const model = await readModel(env.MODELS, id, manifest);
    const classifier = await OrtWebClassifier.create(model, { graphOptimization: graphOptimization(env) });
    return { manifest, classifier };
  });
}

export function isLoaded(id: ModelId): boolean {
  return sessions.isLoaded(id);
}

export function sessionStats(): ReturnType<SessionCache<ModelId, LoadedModel>['stats']> {
  return sessions.stats();
}
