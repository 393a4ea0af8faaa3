// Fetches the image an image_url names, the same way on the edge and on the origin: each URL and
// redirect target checked by the policy, at most MAX_IMAGE_URL_REDIRECTS redirects, one deadline for the
// whole fetch (a body that never ends fails with it), bytes capped while they stream, and the content
// sniffed rather than trusted. How one request goes out is the runtime's part (ImageUrlTransport): the
// edge uses fetch(), the origin connects only to an address it resolved and checked.

import { joinChunks } from '../http/chunks.ts';
import { ApiError } from '../http/errors.ts';
import { IMAGE_MEDIA_TYPES, sniffImageType } from '../image/sniff.ts';
import { VERSION } from '../version.ts';
import { MAX_IMAGE_URL_REDIRECTS } from './settings.ts';
import { checkUrl, describeUrl, type UrlPolicy } from './url-policy.ts';

/** One response, redirects not followed. */
export interface UrlResponse {
  status: number;
  /** The Location header, if any. */
  location: string | undefined;
  /** The Content-Length header, if any. */
  contentLength: string | undefined;
  /** The next chunk of the body; undefined at its end. */
  read(): Promise<Uint8Array | undefined>;
  /** Stops reading the body and frees the connection. */
  cancel(): void;
}

export interface ImageUrlTransport {
  /** Sends one GET for a URL the policy accepted; rejects (any error) when no response arrives. */
  get(url: URL): Promise<UrlResponse>;
  /** Stops whatever is in flight: the deadline passed. */
  abort(): void;
}

export interface ImageFetchOptions {
  policy: UrlPolicy;
  /** Largest body accepted: the service's own body limit. */
  maxBytes: number;
  /** For the whole fetch: every redirect and the body included. */
  timeoutMs: number;
  transport: ImageUrlTransport;
}

/** Headers of every image URL request: the formats the services decode, and who is asking. */
export const IMAGE_URL_HEADERS: Readonly<Record<string, string>> = {
  accept: IMAGE_MEDIA_TYPES.join(', '),
  'user-agent': `edge-classifier/${VERSION} (image_url)`,
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Enough bytes to tell JPEG, PNG and WebP apart ("RIFF" size "WEBP").
const SNIFF_BYTES = 12;

export function urlForbidden(url: string, reason: string): ApiError {
  return new ApiError('url_forbidden', `image_url ${describeUrl(url)} is not fetched: ${reason}.`);
}

function fetchFailed(url: URL, reason: string): ApiError {
  return new ApiError('fetch_failed', `image_url ${describeUrl(url.href)} could not be fetched: ${reason}.`);
}

/** Checks a URL with the policy, or throws url_forbidden. */
export function allowedUrl(text: string, policy: UrlPolicy): URL {
  const verdict = checkUrl(text, policy);
  if (!verdict.ok) throw urlForbidden(text, verdict.reason);
  return verdict.url;
}

/** The image bytes at `text`, or an ApiError: url_forbidden, fetch_failed or unsupported_media_type. */
export async function fetchImageUrl(text: string, options: ImageFetchOptions): Promise<Uint8Array> {
  let url = allowedUrl(text, options.policy);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.transport.abort();
      reject(fetchFailed(url, `no complete answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  expired.catch(() => undefined);
  const inTime = <T>(step: Promise<T>): Promise<T> => Promise.race([step, expired]);
  try {
    for (let redirects = 0; ; redirects++) {
      let response: UrlResponse;
      try {
        response = await inTime(options.transport.get(url));
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw fetchFailed(url, `the request failed (${(error as Error).message || 'network error'})`);
      }
      if (REDIRECTS.has(response.status)) {
        response.cancel();
        if (redirects === MAX_IMAGE_URL_REDIRECTS)
          throw fetchFailed(url, `more than ${MAX_IMAGE_URL_REDIRECTS} redirects`);
        if (!response.location) throw fetchFailed(url, `a ${response.status} redirect without a Location`);
        let next: string;
        try {
          next = new URL(response.location, url).href;
        } catch {
          throw fetchFailed(url, 'a redirect to an unreadable Location');
        }
        const verdict = checkUrl(next, options.policy);
        if (!verdict.ok)
          throw new ApiError(
            'url_forbidden',
            `image_url ${describeUrl(url.href)} redirects to ${describeUrl(next)}, which is not fetched: ${verdict.reason}.`,
          );
        url = verdict.url;
        continue;
      }
      if (response.status !== 200) {
        response.cancel();
        throw fetchFailed(url, `it answered HTTP ${response.status}`);
      }
      return await inTime(readImage(url, response, options.maxBytes));
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

async function readImage(url: URL, response: UrlResponse, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => fetchFailed(url, `the body is larger than the ${maxBytes}-byte limit`);
  const declared = response.contentLength?.trim();
  if (declared && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    response.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let sniffed = false;
  try {
    for (;;) {
      const chunk = await response.read();
      if (chunk === undefined) break;
      total += chunk.byteLength;
      if (total > maxBytes) throw tooLarge();
      chunks.push(chunk);
      // A page or a file of another kind is refused from its first bytes, not read to the end.
      if (!sniffed && total >= SNIFF_BYTES) {
        notAnImage(url, join(chunks, total));
        sniffed = true;
      }
    }
  } catch (error) {
    response.cancel();
    if (error instanceof ApiError) throw error;
    throw fetchFailed(url, `the body broke off (${(error as Error).message || 'network error'})`);
  }
  const bytes = join(chunks, total);
  if (!sniffed) notAnImage(url, bytes);
  return bytes;
}

function notAnImage(url: URL, bytes: Uint8Array): void {
  if (sniffImageType(bytes)) return;
  throw new ApiError(
    'unsupported_media_type',
    `image_url ${describeUrl(url.href)} is not a JPEG, PNG or WebP image (${bytes.byteLength === 0 ? 'its body is empty' : 'judged by its first bytes, not its Content-Type'}).`,
  );
}

/** The chunks joined, left in `chunks` as one, so that joining again later copies nothing. */
function join(chunks: Uint8Array[], total: number): Uint8Array {
  const out = joinChunks(chunks, total);
  chunks.length = 0;
  if (total > 0) chunks.push(out);
  return out;
}
