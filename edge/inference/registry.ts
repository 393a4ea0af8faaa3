// The isolate's loaded models: one classifier per model id, created on first use and kept for the
// isolate's lifetime (a Worker isolate serves many requests; loading B0 costs ~0.5 s).

import type { ModelManifest } from '../../shared/catalog/manifest.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import { graphOptimization } from '../config.ts';
import { readManifest, readModel } from '../models/store.ts';
import { type Classifier, OrtWebClassifier } from './classifier.ts';
import { wasmInstantiateMs } from './ort-wasm-shim.ts';
import { SessionCache } from './session-cache.ts';

export interface LoadedModel {
  manifest: ModelManifest;
  classifier: Classifier;
}

/** Where a model load spent its time (the first request's cold start, without decode and the run). */
export interface LoadTimings {
  manifest_ms: number;
  r2_read_ms: number;
  /** Instantiating ORT's WASM module; only the load that started ORT pays it, others report 0. */
  wasm_instantiate_ms: number;
  /** InferenceSession.create without the WASM instantiation: graph parsing, optimisation, weights. */
  session_create_ms: number;
  model_bytes: number;
}

export class ModelNotDeployedError extends Error {
  override name = 'ModelNotDeployedError';
}

const sessions = new SessionCache<ModelId, LoadedModel>();
const timings = new Map<ModelId, LoadTimings>();
/** The last manifest read per model, so that a load given its manifest still reports manifest_ms. */
const manifestReadMs = new Map<ModelId, number>();

/** The model's manifest from the bucket (model.json only: cheap next to loading the model). */
export async function deployedManifest(env: Env, id: ModelId): Promise<ModelManifest> {
  const started = performance.now();
  const manifest = await readManifest(env.MODELS, id);
  if (!manifest) throw new ModelNotDeployedError(`${id} has no files in the model bucket`);
  manifestReadMs.set(id, performance.now() - started);
  return manifest;
}

/**
 * The isolate's loaded model, loading it on first use. `manifest`, when the caller already read it
 * (deployedManifest), saves reading model.json again.
 */
export function loadedModel(env: Env, id: ModelId, manifest?: ModelManifest): Promise<LoadedModel> {
  return sessions.get(id, async () => {
    const started = performance.now();
    const given = manifest !== undefined;
    manifest ??= await deployedManifest(env, id);
    const manifestRead = performance.now();
    const model = await readModel(env.MODELS, id, manifest);
    const modelRead = performance.now();
    const instantiatedBefore = wasmInstantiateMs();
    const classifier = await OrtWebClassifier.create(model, { graphOptimization: graphOptimization(env) });
    const created = performance.now();
    const instantiate = instantiatedBefore === undefined ? (wasmInstantiateMs() ?? 0) : 0;
    timings.set(id, {
      manifest_ms: given ? (manifestReadMs.get(id) ?? 0) : manifestRead - started,
      r2_read_ms: modelRead - manifestRead,
      wasm_instantiate_ms: instantiate,
      session_create_ms: created - modelRead - instantiate,
      model_bytes:
        model.graph.byteLength + (model.externalData ?? []).reduce((sum, f) => sum + f.data.byteLength, 0),
    });
    return { manifest, classifier };
  });
}

export function isLoaded(id: ModelId): boolean {
  return sessions.isLoaded(id);
}

export function sessionStats(): ReturnType<SessionCache<ModelId, LoadedModel>['stats']> {
  return sessions.stats();
}

/** Load timings of every model this isolate has loaded. */
export function loadTimings(): Partial<Record<ModelId, LoadTimings>> {
  return Object.fromEntries(timings);
}
