// Turns the three accepted body forms into one (image bytes, parameters) pair.
import type { Context, MiddlewareHandler } from 'hono';
import { decodeBase64 } from '../../shared/api/base64.ts';
import type { ClassifyParams } from '../../shared/api/classify.ts';
import { ApiError } from '../../shared/http/errors.ts';
import { IMAGE_MEDIA_TYPES } from '../../shared/image/sniff.ts';
import { edgeConfig } from '../config.ts';
import type { AppEnv } from '../http/app-env.ts';
import { loadImageUrl } from '../image-url/load.ts';

export interface ClassifyInput {
  image: Uint8Array;
  params: ClassifyParams;
}

type BodyForm = 'image' | 'multipart' | 'json';

/** Which body form the Content-Type announces; anything else is a 415 before the body is read. */
export function bodyForm(contentType: string | undefined): BodyForm {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if ((IMAGE_MEDIA_TYPES as readonly string[]).includes(mediaType)) return 'image';
  if (mediaType === 'multipart/form-data') return 'multipart';
  if (mediaType === 'application/json') return 'json';
  throw new ApiError(
    'unsupported_media_type',
    mediaType
      ? `Content-Type ${mediaType} is not accepted; send ${IMAGE_MEDIA_TYPES.join(', ')}, multipart/form-data or application/json.`
      : 'Missing Content-Type; send the image as image/jpeg, image/png, image/webp, multipart/form-data or application/json.',
  );
}

/** Whether the body is a raw JPEG upload (image/jpeg). */
export function isJpegUpload(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'image/jpeg';
}

/** Route middleware: a 415 for an unaccepted Content-Type before the body is read. */
export function acceptedBodyForm(): MiddlewareHandler {
  return async (c, next) => {
    bodyForm(c.req.header('content-type'));
    await next();
  };
}

interface Validated {
  query: ClassifyParams;
  json?: ClassifyParams & { image?: string | undefined; image_url?: string | undefined };
  form?: ClassifyParams & { image: File };
}

/** Picks image and parameters out of the already validated request parts. */
export async function classifyInput(c: Context<AppEnv>, valid: Validated): Promise<ClassifyInput> {
  const form = bodyForm(c.req.header('content-type'));
  if (form === 'image') return { image: c.get('body') ?? new Uint8Array(0), params: valid.query };
  const hasQueryParams = new URL(c.req.url).searchParams.size > 0;
  if (form === 'json' && valid.json) {
    if (hasQueryParams) throw bothPlaces();
    // The schema lets exactly one of image and image_url through.
    const { image, image_url: imageUrl, ...params } = valid.json;
    if (imageUrl !== undefined) return { image: await loadImageUrl(c.env, imageUrl), params };
    return { image: decodeBase64(image ?? '', edgeConfig(c.env).maxBodyBytes), params };
  }
  if (form === 'multipart' && valid.form) {
    const { image, ...formParams } = valid.form;
    // The parsed form always carries top_k (its default): look at the raw fields to see what was sent.
    const raw = await c.req.parseBody();
    const formHasParams = Object.keys(raw).some((key) => key !== 'image');
    if (hasQueryParams && formHasParams) throw bothPlaces();
    return {
      image: new Uint8Array(await image.arrayBuffer()),
      params: formHasParams ? formParams : valid.query,
    };
  }
  throw new ApiError('invalid_request', 'The request body could not be read.');
}

function bothPlaces(): ApiError {
  return new ApiError(
    'invalid_request',
    'Send parameters either in the query string or in the body, not both.',
  );
}
