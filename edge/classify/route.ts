import { createRoute, z } from '@hono/zod-openapi';
import {
  ClassifyJsonBodySchema,
  ClassifyParamsSchema,
  ClassifyResponseSchema,
} from '../../shared/api/classify.ts';
import { ErrorEnvelopeSchema } from '../../shared/api/errors.ts';
import { edgeConfig } from '../config.ts';
import { bodyLimit } from '../http/body-limit.ts';
import { acceptedBodyForm, bodyForm, isJpegUpload } from './input.ts';

/** multipart/form-data: the file in field `image`, parameters as further fields (or in the query). */
export const ClassifyFormSchema = ClassifyParamsSchema.extend({
  image: z.file().openapi({ type: 'string', format: 'binary', description: 'The image file.' }),
}).strict();

const binaryImage = { schema: { type: 'string' as const, format: 'binary' } };
/** An OpenAPI error response: our envelope with this description. */
export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorEnvelopeSchema } },
});

export const classifyRoute = createRoute({
  method: 'post',
  path: '/v1/classify',
  summary: 'Classify an image into the 1000 ImageNet classes',
  description:
    'Send the image as the raw body (parameters in the query), as multipart/form-data field `image`, or as JSON with the image in base64 (`image`) or as an https URL the service fetches (`image_url`). Parameters go in the query or in the body, not both.',
  security: [{ bearer: [] }],
  // The Content-Type is checked and the body size capped before anything parses the body.
  // A raw image is read once and not re-parsed: only the JSON and form validators read the body again.
  middleware: [
    acceptedBodyForm(),
    bodyLimit({
      maxBytes: (c) => edgeConfig(c.env).maxBodyBytes,
      reparsed: (c) => bodyForm(c.req.header('content-type')) !== 'image',
      // A raw JPEG goes straight into the decoder's heap, where it is decoded without another copy.
      allocate: (c, length) =>
        isJpegUpload(c.req.header('content-type')) ? c.get('uploadBuffer')?.(length) : undefined,
    }),
  ] as const,
  request: {
    query: ClassifyParamsSchema,
    body: {
      // `required: true` would make @hono/zod-openapi run the JSON and form validators on every request,
      // whatever its Content-Type; the handler insists on an image itself.
      required: false,
      content: {
        'image/jpeg': binaryImage,
        'image/png': binaryImage,
        'image/webp': binaryImage,
        'multipart/form-data': { schema: ClassifyFormSchema },
        'application/json': { schema: ClassifyJsonBodySchema },
      },
    },
  },
  responses: {
    200: {
      description: 'Predictions, most probable first.',
      headers: {
        'Cache-Status': {
          description:
            'RFC 9211: how the edge result cache handled the request, e.g. `edge-results; hit; ttl=86000`, `edge-results; fwd=uri-miss; stored` or `edge-results; fwd=bypass; detail=cache-false`.',
          schema: { type: 'string' },
        },
      },
      content: { 'application/json': { schema: ClassifyResponseSchema } },
    },
    400: errorResponse(
      'Malformed request, invalid parameter, or an image_url that is not fetched (url_forbidden).',
    ),
    401: errorResponse('Missing or invalid API key.'),
    413: errorResponse('Body or image dimensions over the limit.'),
    415: errorResponse('Not a JPEG, PNG or WebP image, or an unsupported Content-Type.'),
    422: errorResponse('The image could not be decoded, or image_url could not be fetched (fetch_failed).'),
    429: errorResponse(
      "The GPU origin's queue is full (queue_full); retry after the Retry-After delay, or send allow_degraded=true.",
    ),
    503: errorResponse('The requested model or tier cannot be served here now.'),
    504: errorResponse("The request's time budget ran out before the origin answered."),
  },
});
