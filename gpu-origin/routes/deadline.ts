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
      `The ${DEADLINE_HEADER} header must be a whole number of milliseconds from 0 to ${MAX_DEADLINE_MS}.`,
    );
  }
  return arrivedAt + ms;
}

/**
 * Admission: a request whose budget is already spent is answered before any work is done for it, its body
 * unread (so its connection is not reused).
 */
export function requireTimeLeft(deadlineAt: number, now: number, request: Request): void {
  if (deadlineAt <= now) {
    const unread = request.body !== null && !request.bodyUsed;
    throw new ApiError(
      'deadline_exceeded',
      'The deadline passed before the request was admitted.',
      unread ? { connection: 'close' } : {},
    );
  }
}
