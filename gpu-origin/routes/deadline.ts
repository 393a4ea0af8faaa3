import { DEADLINE_HEADER, MAX_DEADLINE_MS } from '../../shared/http/deadline.ts';
import { ApiError } from '../../shared/http/errors.ts';

export { DEADLINE_HEADER };

/** Absolute deadline on performance.now()'s clock. */
export function deadlineFrom(header: string | undefined, arrivedAt: number, defaultMs: number): number {
  if (header === undefined) return arrivedAt + defaultMs;
  const ms = Number(header.trim());
  if (header.trim() === '' || !Number.isInteger(ms) || ms < 0 || ms > MAX_DEADLINE_MS) {
    throw new ApiError(
      'invalid_parameter',
      `${DEADLINE_HEADER} must be a whole number of milliseconds from 0 to ${MAX_DEADLINE_MS}`,
    );
  }
  return arrivedAt + ms;
}
