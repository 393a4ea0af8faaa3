import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../../shared/api/errors.ts';
import { preprocessFor, WEIGHT_SOURCES, type WeightSource } from '../../shared/catalog/models.ts';
import { isVariant, type Variant } from '../../shared/efficientnet/variants.ts';
import type { PreprocessSpec } from '../../shared/preprocess/index.ts';

// model.json as written by the model factory (infra/models): only the fields the origin needs.
const ManifestSchema = z.object({
  id: z.string().min(1),
  /** Absent or not b0-b7 for custom configurations. */
  variant: z.string().optional(),
  resolution: z.number().int().positive(),
  weights: z.enum(['untrained', 'pretrained']),
  source: z.enum(WEIGHT_SOURCES).default('random'),
  input: z.object({ name: z.string().min(1) }),
  output: z.object({ name: z.string().min(1), classes: z.number().int().positive() }),
});

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
  const path = join(dir, 'model.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ManifestError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(json);
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
    modelPath: join(dir, 'model.onnx'),
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
