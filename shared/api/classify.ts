import { z } from 'zod';
import { MODEL_IDS } from '../catalog/models.ts';
import { MAX_BUDGET_MS, MIN_BUDGET_MS } from '../policy/budget.ts';
import { TIERS } from '../policy/tiers.ts';
import { ErrorEnvelopeSchema } from './errors.ts';

// Query strings carry everything as text; JSON bodies may carry real numbers and booleans.
const intFromText = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
const fractionFromText = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
  z.number().min(0).max(1),
);
const boolFromText = z.preprocess(
  (v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v),
  z.boolean(),
);

export const ClassifyParamsSchema = z
  .object({
    tier: z.enum(TIERS).optional().describe('Accuracy tier; default "auto". An explicit model overrides it.'),
    model: z.enum(MODEL_IDS).optional().describe('Explicit model id from GET /v1/models.'),
    top_k: intFromText(1, 20).default(5).describe('How many predictions to return (1-20).'),
    min_confidence: fractionFromText
      .optional()
      .describe('Tier auto: escalate when the edge top-1 probability is below this (0-1).'),
    allow_degraded: boolFromText
      .optional()
      .describe('Tiers accurate/max: answer from the edge instead of 503 when the origin is unavailable.'),
    latency_budget_ms: intFromText(MIN_BUDGET_MS, MAX_BUDGET_MS)
      .optional()
      .describe(
        'Latency budget in ms (1-600000). Without tier: the most accurate served model whose expected latency (measured p95; on the origin plus round trip and queue wait) fits. With tier=auto: escalate only if the origin can still fit. Not allowed with model or another tier.',
      ),
    cache: boolFromText
      .optional()
      .describe(
        'false: neither read nor write the edge result cache for this request (Cache-Status says fwd=bypass). Default true.',
      ),
  })
  .strict()
  .meta({ id: 'ClassifyParams' });

export type ClassifyParams = z.infer<typeof ClassifyParamsSchema>;

/** Longest accepted image_url. */
export const MAX_IMAGE_URL_LENGTH = 2048;

/** Where a JSON body's image comes from: inline base64 or a URL; exactly one of them (exactlyOneImage). */
export const ImageSourceFields = {
  image: z.string().min(1).optional().describe('The image file, base64-encoded. Not with image_url.'),
  image_url: z
    .string()
    .min(1)
    .max(MAX_IMAGE_URL_LENGTH)
    .optional()
    .describe(
      'An https URL of the image, fetched by the service (no credentials, no private or local hosts, default port; at most 3 redirects; the body limit applies). Not with image.',
    ),
};

/** A refinement for objects with ImageSourceFields: exactly one of image and image_url. */
export function exactlyOneImage(
  body: { image?: string | undefined; image_url?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if ((body.image === undefined) === (body.image_url === undefined))
    ctx.addIssue({
      code: 'custom',
      path: ['image'],
      message: 'send exactly one of image (base64) and image_url',
    });
}

/** JSON body form: the parameters plus the image as base64 or as a URL. */
export const ClassifyJsonBodySchema = ClassifyParamsSchema.extend(ImageSourceFields)
  .strict()
  .superRefine(exactlyOneImage)
  .meta({ id: 'ClassifyJsonBody' });

export const PredictionSchema = z
  .object({
    index: z.number().int().min(0).describe('ImageNet-1k class index (0-999).'),
    label: z.string(),
    score: z.number().min(0).max(1).describe('Softmax probability.'),
  })
  .meta({ id: 'Prediction' });

export const TimingsSchema = z
  .object({
    decode: z.number(),
    preprocess: z.number(),
    inference: z.number(),
    total: z.number(),
  })
  .meta({ id: 'Timings' });

export const SelectionSchema = z
  .object({
    budget_ms: z.number().int().describe('The latency_budget_ms of the request.'),
    expected_ms: z
      .number()
      .nullable()
      .describe('Expected latency of the answer as selected (null when the answering model is unmeasured).'),
    budget_met: z.boolean().describe('Whether the expected latency of the answer fits the budget.'),
    reason: z.string().describe('Why this model answered, in words.'),
  })
  .meta({ id: 'Selection' });

export const WeightsStatusSchema = z.enum(['pretrained', 'untrained']);

export const ClassifyResponseSchema = z
  .object({
    request_id: z.string(),
    model: z.string().describe('The model that produced the predictions.'),
    tier: z.enum(TIERS),
    weights: WeightsStatusSchema.describe(
      '"untrained" means seeded random weights: predictions are meaningless.',
    ),
    predictions: z.array(PredictionSchema),
    timings_ms: TimingsSchema,
    escalated: z.boolean().optional().describe('True when the origin answered after the edge ran.'),
    edge: z
      .object({ model: z.string(), top1_score: z.number() })
      .optional()
      .describe('The edge model and its top-1 probability, when the edge ran.'),
    degraded: z.boolean().optional().describe('True when the origin was wanted but the edge answered.'),
    degraded_reason: z.string().optional(),
    selection: SelectionSchema.optional().describe(
      'How latency_budget_ms chose the model, when one was sent.',
    ),
  })
  .meta({ id: 'ClassifyResponse' });

export type Prediction = z.infer<typeof PredictionSchema>;
export type Selection = z.infer<typeof SelectionSchema>;
export type Timings = z.infer<typeof TimingsSchema>;
export type ClassifyResponse = z.infer<typeof ClassifyResponseSchema>;

// ---- Several images per call: POST /v1/classify/batch (edge and origin) ----------------------------

/** Most images one batch call may carry (as Google Vision's images:annotate). */
export const MAX_BATCH_IMAGES = 16;

/**
 * One image of a JSON batch: `image` (base64) or `image_url`, exactly one. An entry with both or neither
 * is answered with its own 400 in `results`; the other images still answer.
 */
export const BatchImageSchema = z
  .object({
    image: z.string().optional().describe('The image file, base64-encoded.'),
    image_url: z.string().optional().describe('An https URL to fetch the image from.'),
  })
  .strict()
  .meta({ id: 'BatchImage' });

const batchImages = z
  .array(BatchImageSchema)
  .min(1, 'send at least one image')
  .max(MAX_BATCH_IMAGES, `send at most ${MAX_BATCH_IMAGES} images per call`);

/** JSON batch body: the images plus the parameters, which apply to every image. */
export const BatchJsonBodySchema = ClassifyParamsSchema.extend({ images: batchImages })
  .strict()
  .meta({ id: 'BatchJsonBody' });

export type BatchJsonBody = z.infer<typeof BatchJsonBodySchema>;

/** One image's own error in a batch answer: our error envelope plus the status it would have had alone. */
export const BatchErrorSchema = ErrorEnvelopeSchema.extend({
  status: z.number().int().min(400).max(599).describe('The HTTP status this error has on its own.'),
  retry_after_s: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Seconds to wait before retrying this image, when waiting helps (429 / 503).'),
}).meta({ id: 'BatchError' });

export const BatchResultSchema = z.union([ClassifyResponseSchema, BatchErrorSchema]);

export const BatchResponseSchema = z
  .object({
    request_id: z.string(),
    results: z
      .array(BatchResultSchema)
      .describe("One entry per image, in the order sent: a classification or that image's error."),
  })
  .meta({ id: 'BatchResponse' });

export type BatchError = z.infer<typeof BatchErrorSchema>;
export type BatchResult = z.infer<typeof BatchResultSchema>;
export type BatchResponse = z.infer<typeof BatchResponseSchema>;

export function isBatchError(result: BatchResult): result is BatchError {
  return 'error' in result;
}
