import { z } from 'zod';
import { WEIGHT_SOURCES } from '../../shared/catalog/models.ts';

/** The part of the factory's model.json the Worker relies on; other fields are ignored. */
export const ModelManifestSchema = z.object({
  id: z.string(),
  resolution: z.number().int().positive(),
  weights: z.enum(['untrained', 'pretrained']),
  source: z.enum(WEIGHT_SOURCES),
  split: z.boolean().default(false),
  input: z.object({ name: z.string(), shape: z.array(z.union([z.string(), z.number()])) }),
  output: z.object({ name: z.string(), classes: z.number().int().positive() }),
  files: z.array(z.object({ name: z.string(), bytes: z.number().int().nonnegative().optional() })).optional(),
});

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
