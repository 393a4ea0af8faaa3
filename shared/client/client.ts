import type { z } from 'zod';
import {
  type BatchResponse,
  BatchResponseSchema,
  type ClassifyParams,
  type ClassifyResponse,
  ClassifyResponseSchema,
  MAX_BATCH_IMAGES,
} from '../api/classify.ts';
import { type ErrorEnvelope, ErrorEnvelopeSchema } from '../api/errors.ts';
import { type ModelsResponse, ModelsResponseSchema } from '../api/models.ts';
import { multipartFiles } from '../http/multipart.ts';

// The few parts of fetch the client needs, so shared/ stays free of any runtime's type library.
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: Uint8Array<ArrayBuffer> | string },
) => Promise<FetchResponseLike>;

export interface ClientOptions {
  /** e.g. "http://127.0.0.1:8787" */
  baseUrl: string;
  apiKey?: string;
  fetch: FetchLike;
}

export type ImageContentType = 'image/jpeg' | 'image/png' | 'image/webp';

/** An error answered by the API (its envelope), or a response that broke the contract. */
export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiClientError';
  }
}

/** One image of a batch: its bytes, or a URL for the API to fetch. */
export type BatchImageInput =
  | { image: Uint8Array<ArrayBuffer>; contentType: ImageContentType }
  | { imageUrl: string };

export interface ClassifierClient {
  classify(
    image: Uint8Array<ArrayBuffer>,
    contentType: ImageContentType,
    params?: Partial<ClassifyParams>,
  ): Promise<ClassifyResponse>;
  /** The image at an https URL, fetched by the service (JSON body `image_url`). */
  classifyUrl(imageUrl: string, params?: Partial<ClassifyParams>): Promise<ClassifyResponse>;
  /**
   * Up to 16 images in one call (POST /v1/classify/batch). Resolves with one entry per image, in order:
   * a classification or that image's own error (see isBatchError); rejects only when the whole call fails.
   */
  classifyBatch(images: readonly BatchImageInput[], params?: Partial<ClassifyParams>): Promise<BatchResponse>;
  models(): Promise<ModelsResponse>;
  health(): Promise<boolean>;
}

export function createClient(options: ClientOptions): ClassifierClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const authHeaders: Record<string, string> = options.apiKey
    ? { authorization: `Bearer ${options.apiKey}` }
    : {};

  async function call<T>(schema: z.ZodType<T>, path: string, init: Parameters<FetchLike>[1]): Promise<T> {
    const response = await options.fetch(`${base}${path}`, init);
    const text = await response.text();
    const body = parseJson(text);
    if (response.status >= 400) throw errorFrom(response, body);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ApiClientError(response.status, 'invalid_response', `unexpected response from ${path}`);
    }
    return parsed.data;
  }

  return {
    classify(image, contentType, params = {}) {
      return call(ClassifyResponseSchema, `/v1/classify${querySuffix(params)}`, {
        method: 'POST',
        headers: { ...authHeaders, 'content-type': contentType },
        body: image,
      });
    },
    classifyUrl(imageUrl, params = {}) {
      return call(ClassifyResponseSchema, '/v1/classify', {
        method: 'POST',
        headers: { ...authHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ ...params, image_url: imageUrl }),
      });
    },
    async classifyBatch(images, params = {}) {
      if (images.length < 1 || images.length > MAX_BATCH_IMAGES)
        throw new RangeError(`classifyBatch takes 1 to ${MAX_BATCH_IMAGES} images (got ${images.length})`);
      const files = images.flatMap((entry) =>
        'image' in entry ? [{ bytes: entry.image, contentType: entry.contentType }] : [],
      );
      // Files only: multipart, the bytes as they are. With a URL among them: JSON, files in base64.
      if (files.length === images.length) {
        const body = multipartFiles('image', files);
        return call(BatchResponseSchema, `/v1/classify/batch${querySuffix(params)}`, {
          method: 'POST',
          headers: { ...authHeaders, 'content-type': body.contentType },
          body: body.bytes,
        });
      }
      const entries = images.map((entry) =>
        'image' in entry ? { image: toBase64(entry.image) } : { image_url: entry.imageUrl },
      );
      return call(BatchResponseSchema, '/v1/classify/batch', {
        method: 'POST',
        headers: { ...authHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ images: entries, ...definedParams(params) }),
      });
    },
    models() {
      return call(ModelsResponseSchema, '/v1/models', { method: 'GET', headers: authHeaders });
    },
    async health() {
      const response = await options.fetch(`${base}/healthz`, { method: 'GET', headers: {} });
      await response.text();
      return response.status === 200;
    },
  };
}

function definedParams(params: Partial<ClassifyParams>): Partial<ClassifyParams> {
  return Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
}

function querySuffix(params: Partial<ClassifyParams>): string {
  const query = Object.entries(definedParams(params))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return query ? `?${query}` : '';
}

/** btoa over chunks: a spread of a whole image's bytes would overflow the call stack. */
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorFrom(response: FetchResponseLike, body: unknown): ApiClientError {
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  const envelope = ErrorEnvelopeSchema.safeParse(body);
  if (!envelope.success) {
    return new ApiClientError(
      response.status,
      'unknown',
      `HTTP ${response.status} without an error envelope`,
    );
  }
  const { code, message, request_id }: ErrorEnvelope['error'] = envelope.data.error;
  return new ApiClientError(response.status, code, message, request_id, retryAfterSeconds);
}
