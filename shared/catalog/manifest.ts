import { z } from 'zod';
import { WEIGHT_SOURCES } from './models.ts';

// A model folder as the factory (infra/models) writes it and both services read it, locally or in R2:
// <id>/model.json, <id>/model.onnx and, for a split model, <id>/model.onnx.data.

export const MANIFEST_FILE = 'model.json';
export const MODEL_FILE = 'model.onnx';
export const DATA_FILE = `${MODEL_FILE}.data`;

/** The part of model.json the services rely on; the factory writes more (config, params, MACs, …). */
export const ModelManifestSchema = z.object({
  id: z.string().min(1),
  /** b0-b7, or "custom" / absent for custom configurations. */
  variant: z.string().optional(),
  resolution: z.number().int().positive(),
  weights: z.enum(['untrained', 'pretrained']),
  source: z.enum(WEIGHT_SOURCES).default('random'),
  split: z.boolean().default(false),
  /**
   * Set when onnxruntime already optimised the graph (infra/models/preoptimize.ts): a runtime loads it with
   * graph optimisation off, because optimising again only costs the first request.
   */
  optimized: z.object({ by: z.string().min(1), level: z.enum(['basic', 'extended']) }).optional(),
  input: z.object({ name: z.string().min(1), shape: z.array(z.union([z.string(), z.number()])).optional() }),
  output: z.object({ name: z.string().min(1), classes: z.number().int().positive() }),
  files: z
    .array(
      z.object({
        name: z.string(),
        bytes: z.number().int().nonnegative().optional(),
        /** SHA-256 (hex) of the file, as the factory wrote it: the edge's result cache keys on it. */
        sha256: z.string().optional(),
      }),
    )
    .optional(),
});

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
