import { z } from 'zod';
import { MODEL_IDS } from '../catalog/models.ts';

export const ModelInfoSchema = z
  .object({
    id: z.enum(MODEL_IDS),
    resolution: z.number().int(),
    placement: z.enum(['edge', 'origin']).describe('Where the model runs.'),
    loaded: z.boolean().describe('Whether a session for it is live in this instance.'),
    weights: z
      .enum(['pretrained', 'untrained', 'unknown'])
      .describe('"unknown" until the model files have been read.'),
  })
  .meta({ id: 'ModelInfo' });

export const ModelsResponseSchema = z
  .object({ models: z.array(ModelInfoSchema) })
  .meta({ id: 'ModelsResponse' });

export type ModelInfo = z.infer<typeof ModelInfoSchema>;
export type ModelsResponse = z.infer<typeof ModelsResponseSchema>;
