// Model files in R2, laid out by the model factory: <id>/model.json, <id>/model.onnx, <id>/model.onnx.data.
import {
  DATA_FILE,
  MANIFEST_FILE,
  MODEL_FILE,
  type ModelManifest,
  ModelManifestSchema,
} from '../../shared/catalog/manifest.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import type { OrtWebModel } from '../inference/classifier.ts';

export type { ModelManifest };

export class ModelStoreError extends Error {
  override name = 'ModelStoreError';
}

/** model.json for `id`, or null when the model has not been uploaded. */
export async function readManifest(bucket: R2Bucket, id: ModelId): Promise<ModelManifest | null> {
  const object = await bucket.get(`${id}/${MANIFEST_FILE}`);
  if (!object) return null;
  const parsed = ModelManifestSchema.safeParse(await object.json().catch(() => undefined));
  if (!parsed.success) throw new ModelStoreError(`${id}/${MANIFEST_FILE} is not a valid model manifest`);
  if (parsed.data.id !== id) throw new ModelStoreError(`${id}/${MANIFEST_FILE} describes ${parsed.data.id}`);
  return parsed.data;
}

/** The graph (and its external weights when the model was built split), ready for ORT-web. */
export async function readModel(
  bucket: R2Bucket,
  id: ModelId,
  manifest: ModelManifest,
): Promise<OrtWebModel> {
  const graph = await readBytes(bucket, `${id}/${MODEL_FILE}`);
  const externalData = manifest.split
    ? [{ path: DATA_FILE, data: await readBytes(bucket, `${id}/${DATA_FILE}`) }]
    : undefined;
  return {
    graph,
    externalData,
    inputName: manifest.input.name,
    outputName: manifest.output.name,
    preoptimized: manifest.optimized !== undefined,
    inputSize: [3, manifest.resolution, manifest.resolution],
  };
}

async function readBytes(bucket: R2Bucket, key: string): Promise<Uint8Array> {
  const object = await bucket.get(key);
  if (!object) throw new ModelStoreError(`${key} is missing from the model bucket`);
  return new Uint8Array(await object.arrayBuffer());
}
