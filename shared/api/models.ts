import { z } from 'zod';
import { MODEL_IDS } from '../catalog/models.ts';
import { PROFILE_RUNTIMES } from '../catalog/profile.ts';

export const ModelLatencySchema = z
  .object({
    runtime: z.enum(PROFILE_RUNTIMES).describe('The runtime that was measured: the one serving the model.'),
    provider: z.string().describe('wasm (one thread) on the edge; cpu or cuda on the origin.'),
    p50_ms: z.number().nonnegative().describe('Median single-image inference time.'),
    p95_ms: z.number().nonnegative().describe('95th percentile single-image inference time.'),
    measured_at: z.string().describe('When the profile was measured (ISO 8601).'),
  })
  .meta({ id: 'ModelLatency' });

export const ModelInfoSchema = z
  .object({
    id: z.enum(MODEL_IDS),
    resolution: z.number().int(),
    placement: z.enum(['edge', 'origin']).describe('Where the model runs.'),
    loaded: z.boolean().describe('Whether a session for it is live in this instance.'),
    weights: z
      .enum(['pretrained', 'untrained', 'unknown'])
      .describe('"unknown" until the model files have been read.'),
    latency: ModelLatencySchema.optional().describe(
      'Measured inference time from the deployed profile of the runtime that serves the model (`npm run profile`); absent when that profile has not measured it. Inference only: decoding, queueing and the edge-to-origin round trip come on top.',
    ),
  })
  .meta({ id: 'ModelInfo' });

export const ModelsResponseSchema = z
  .object({ models: z.array(ModelInfoSchema) })
  .meta({ id: 'ModelsResponse' });

export type ModelInfo = z.infer<typeof ModelInfoSchema>;
export type ModelLatency = z.infer<typeof ModelLatencySchema>;
export type ModelsResponse = z.infer<typeof ModelsResponseSchema>;
