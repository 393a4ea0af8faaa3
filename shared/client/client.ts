import type { z } from 'zod';
import { type ClassifyParams, type ClassifyResponse, ClassifyResponseSchema } from '../api/classify.ts';
import { type ErrorEnvelope, ErrorEnvelopeSchema } from '../api/errors.ts';
import { type ModelsResponse, ModelsResponseSchema } from '../api/models.ts';

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

export interface ClassifierClient {
  classify(
    image: Uint8Array<ArrayBuffer>,
    contentType: ImageContentType,
    params?: Partial<ClassifyParams>,
  ): Promise<ClassifyResponse>;
  /** The image at an https URL, fetched by the service (JSON body `image_url`). */
  classifyUrl(imageUrl: string, params?: Partial<ClassifyParams>): Promise<ClassifyResponse>;
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
      const query = Object.entries(params)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
        .join('&');
      const suffix = query ? `?${query}` : '';
      return call(ClassifyResponseSchema, `/v1/classify${suffix}`, {
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
