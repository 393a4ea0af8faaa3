import { ERROR_STATUS, type ErrorCode } from '../../shared/api/errors.ts';

/** An error with a code from the shared envelope; onError turns it into the response. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}
