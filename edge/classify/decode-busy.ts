// The answer to a request that found the isolate's decode memory taken for longer than it may wait.
import { ApiError } from '../../shared/http/errors.ts';

/** 503 with Retry-After: the memory frees as soon as the decodes ahead of it are preprocessed. */
export function decodeBusyError(waitMs: number): ApiError {
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  return new ApiError(
    'tier_unavailable',
    `The edge is decoding other images and has no memory free for this one; retry in ${retryAfterS} s.`,
    { 'Retry-After': String(retryAfterS) },
  );
}
