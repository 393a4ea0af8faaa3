import { z } from 'zod';

// One envelope for every error the API returns, on the edge and on the origin alike.
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_parameter: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  invalid_image: 422,
  // image_url names a host, address, scheme or port that is never fetched (shared/net/url-policy.ts);
  // 400 rather than 403: no credentials of the caller would change the answer, the URL must.
  url_forbidden: 400,
  // image_url could not be fetched: an error status, a network failure, a timeout, too many redirects or
  // too many bytes. A 4xx, not 502: the URL is the client's input and this service is working; 422 says
  // the request was well-formed but what it points to cannot be used, and retrying it unchanged will not
  // help.
  fetch_failed: 422,
  queue_full: 429,
  internal: 500,
  model_unavailable: 503,
  tier_unavailable: 503,
  origin_unavailable: 503,
  deadline_exceeded: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      request_id: z.string(),
    }),
  })
  .meta({ id: 'ErrorEnvelope' });

export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

export function errorEnvelope(code: ErrorCode, message: string, requestId: string): ErrorEnvelope {
  return { error: { code, message, request_id: requestId } };
}

/** Turns zod issues into one readable sentence, e.g. "top_k: must be at most 20". */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
