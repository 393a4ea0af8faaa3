import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeIssues } from '../../shared/api/errors.ts';
import { MANIFEST_FILE, MODEL_FILE, ModelManifestSchema } from '../../shared/catalog/manifest.ts';
import { preprocessFor, type WeightSource } from '../../shared/catalog/models.ts';
import { isVariant, type Variant } from '../../shared/efficientnet/variants.ts';
import type { PreprocessSpec } from '../../shared/preprocess/index.ts';

// model.json as written by the model factory (infra/models), read through the shared schema.

export interface ModelManifest {
  id: string;
  variant: Variant | null;
  resolution: number;
  weights: 'untrained' | 'pretrained';
  source: WeightSource;
  inputName: string;
  outputName: string;
  classes: number;
  modelPath: string;
}

export class ManifestError extends Error {}

export async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ManifestError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = ModelManifestSchema.safeParse(json);
  if (!parsed.success) throw new ManifestError(`${path}: ${describeIssues(parsed.error.issues)}`);
  const m = parsed.data;
  return {
    id: m.id,
    variant: m.variant !== undefined && isVariant(m.variant) ? m.variant : null,
    resolution: m.resolution,
    weights: m.weights,
    source: m.source,
    inputName: m.input.name,
    outputName: m.output.name,
    classes: m.output.classes,
    modelPath: join(dir, MODEL_FILE),
  };
}

/**
 * The preprocessing for the weights' source. A graph exported at a non-native resolution keeps the
 * source's crop fraction and interpolation, scaled to its own input size.
 */
export function preprocessSpecOf(manifest: ModelManifest): PreprocessSpec {
  // Custom configurations follow B0's evaluation recipe.
  const spec = preprocessFor(manifest.variant ?? 'b0', manifest.source);
  if (spec.cropSize === manifest.resolution) return spec;
  const cropFraction = spec.cropSize / spec.resizeShorterSide;
  return {
    ...spec,
    cropSize: manifest.resolution,
    resizeShorterSide: Math.floor(manifest.resolution / cropFraction),
  };
}
