// The two body forms of POST /v1/classify/batch as one list of entries plus the parameters. An entry is
// the image's bytes, a URL still to load, or that image's own error (an entry with both `image` and
// `image_url`, or neither; bad base64; an image over MAX_BODY_BYTES). The list's length and the body's
// shape were checked by the route's schemas; what is wrong with the whole request is thrown.
import type { Context, MiddlewareHandler } from 'hono';
import { decodeBase64 } from '../../shared/api/base64.ts';
import type { BatchJsonBody, ClassifyParams } from '../../shared/api/classify.ts';
import { ApiError } from '../../shared/http/errors.ts';
import type { EdgeConfig } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';

export type BatchEntry = { bytes: Uint8Array } | { url: string } | { error: ApiError };

export interface BatchInput {
  entries: BatchEntry[];
  params: ClassifyParams;
}

type BatchForm = 'multipart' | 'json';

/** Which body form the Content-Type announces; anything else is a 415 before the body is read. */
export function batchBodyForm(contentType: string | undefined): BatchForm {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'multipart/form-data') return 'multipart';
  if (mediaType === 'application/json') return 'json';
  throw new ApiError(
    'unsupported_media_type',
    `${mediaType ? `Content-Type ${mediaType} is not accepted` : 'Missing Content-Type'}; send several images as multipart/form-data (repeated field \`image\`) or as application/json ({"images": [...]}).`,
  );
}

/** Route middleware: a 415 for an unaccepted Content-Type before the body is read. */
export function acceptedBatchBodyForm(): MiddlewareHandler {
  return async (c, next) => {
    batchBodyForm(c.req.header('content-type'));
    await next();
  };
}

/** The largest body the batch route reads: base64 of BATCH_MAX_BYTES, and room for the JSON around it. */
export function batchBodyLimit(config: EdgeConfig): number {
  return Math.ceil(config.batch.maxBytes / 3) * 4 + 64 * 1024;
}

interface Validated {
  query: ClassifyParams;
  json?: BatchJsonBody;
  form?: ClassifyParams & { image: File[] };
}

export async function batchInput(
  c: Context<AppEnv>,
  valid: Validated,
  config: EdgeConfig,
): Promise<BatchInput> {
  const form = batchBodyForm(c.req.header('content-type'));
  const hasQueryParams = new URL(c.req.url).searchParams.size > 0;
  if (form === 'json' && valid.json) {
    if (hasQueryParams) throw bothPlaces();
    const { images, ...params } = valid.json;
    return { entries: images.map((entry) => jsonEntry(entry, config.maxBodyBytes)), params };
  }
  if (form === 'multipart' && valid.form) {
    const { image, ...formParams } = valid.form;
    // The parsed form always carries top_k (its default): look at the raw fields to see what was sent.
    const raw = await c.req.parseBody({ all: true });
    const formHasParams = Object.keys(raw).some((key) => key !== 'image');
    if (hasQueryParams && formHasParams) throw bothPlaces();
    const entries = await Promise.all(image.map((file) => fileEntry(file, config.maxBodyBytes)));
    return { entries, params: formHasParams ? formParams : valid.query };
  }
  throw new ApiError('invalid_request', 'The request body could not be read.');
}

/** Exactly one of `image` and `image_url`; anything wrong with one entry is that entry's own error. */
function jsonEntry(entry: BatchJsonBody['images'][number], maxBytes: number): BatchEntry {
  const { image, image_url: url } = entry;
  if (image !== undefined && url !== undefined)
    return entryError('invalid_request', 'An entry carries both image and image_url; send one of them.');
  if (url !== undefined) return { url };
  if (image === undefined)
    return entryError('invalid_request', 'An entry carries neither image nor image_url; send one of them.');
  try {
    return { bytes: decodeBase64(image, maxBytes) };
  } catch (error) {
    if (error instanceof ApiError) return { error };
    throw error;
  }
}

async function fileEntry(file: File, maxBytes: number): Promise<BatchEntry> {
  if (file.size > maxBytes)
    return entryError('image_too_large', `The image is ${file.size} bytes; the limit is ${maxBytes}.`);
  return { bytes: new Uint8Array(await file.arrayBuffer()) };
}

function entryError(code: 'invalid_request' | 'image_too_large', message: string): BatchEntry {
  return { error: new ApiError(code, message) };
}

function bothPlaces(): ApiError {
  return new ApiError(
    'invalid_request',
    'Send parameters either in the query string or in the body, not both.',
  );
}
