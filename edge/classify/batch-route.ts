import { createRoute, z } from '@hono/zod-openapi';
import {
  BatchJsonBodySchema,
  BatchResponseSchema,
  ClassifyParamsSchema,
  MAX_BATCH_IMAGES,
} from '../../shared/api/classify.ts';
import { edgeConfig } from '../config.ts';
import { bodyLimit } from '../http/body-limit.ts';
import { acceptedBatchBodyForm, batchBodyLimit } from './batch-input.ts';
import { errorResponse } from './route.ts';

/** multipart/form-data: one `image` field per image (1-16), parameters as further fields (or in the query). */
export const BatchFormSchema = ClassifyParamsSchema.extend({
  // One field arrives as a value, several as an array.
  image: z.preprocess(
    (value) => (value === undefined || Array.isArray(value) ? value : [value]),
    z
      .array(z.file().openapi({ type: 'string', format: 'binary' }))
      .min(1, 'send at least one image')
      .max(MAX_BATCH_IMAGES, `send at most ${MAX_BATCH_IMAGES} images per call`)
      .describe('The image files, one field each, in order.'),
  ),
}).strict();

export const batchRoute = createRoute({
  method: 'post',
  path: '/v1/classify/batch',
  summary: 'Classify up to 16 images in one call',
  description:
    'Send the images as multipart/form-data (repeated field `image`) or as JSON `{"images": [{"image": "<base64>"} | {"image_url": "https://..."}], ...parameters}`. The parameters apply to every image and go in the query or in the body, not both. The answer holds one entry per image, in order: a classification, or that image\'s own error (`status` and the error envelope) — one bad image does not fail the others. The images the edge cannot answer go to the GPU origin together, in one call. The whole request is refused (4xx envelope) for a body that does not match the schema (no images, more than 16, unknown fields), parameters in two places, or images over BATCH_MAX_BYTES / BATCH_MAX_PIXELS together.',
  security: [{ bearer: [] }],
  middleware: [
    acceptedBatchBodyForm(),
    bodyLimit({ maxBytes: (c) => batchBodyLimit(edgeConfig(c.env)) }),
  ] as const,
  request: {
    query: ClassifyParamsSchema,
    body: {
      // As on /v1/classify: `required: true` would run both validators whatever the Content-Type.
      required: false,
      content: {
        'multipart/form-data': { schema: BatchFormSchema },
        'application/json': { schema: BatchJsonBodySchema },
      },
    },
  },
  responses: {
    200: {
      description: "One entry per image, in order: a classification or that image's error.",
      content: { 'application/json': { schema: BatchResponseSchema } },
    },
    400: errorResponse('Malformed request: no images, more than 16, bad JSON, or an invalid parameter.'),
    401: errorResponse('Missing or invalid API key.'),
    413: errorResponse('Body, total image bytes or total pixels over the limit.'),
    415: errorResponse('The Content-Type is not multipart/form-data or application/json.'),
  },
});
