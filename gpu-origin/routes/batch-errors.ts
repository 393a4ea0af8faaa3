import { ApiError } from '../../shared/http/errors.ts';
import { DeadlineExceededError, QueueFullError, ShuttingDownError } from '../batching/errors.ts';

/** Maps the batcher's refusals to envelope errors; anything else passes through unchanged. */
export function asApiError(error: unknown): unknown {
  if (error instanceof QueueFullError) {
    return new ApiError('queue_full', error.message, { 'retry-after': String(error.retryAfterS) });
  }
  if (error instanceof DeadlineExceededError) return new ApiError('deadline_exceeded', error.message);
  if (error instanceof ShuttingDownError) {
    return new ApiError('model_unavailable', error.message, { 'retry-after': '1', connection: 'close' });
  }
  return error;
}
