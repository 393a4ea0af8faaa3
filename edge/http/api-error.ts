import { ERROR_STATUS, type ErrorCode } from '../../shared/api/errors.ts';

/** An error the client should see: its code fixes the HTTP status through the shared ERROR_STATUS map. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}
