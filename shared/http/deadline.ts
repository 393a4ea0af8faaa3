/**
 * Header carrying the caller's remaining time budget in milliseconds (a relative duration, so the
 * caller's and the origin's clocks need not agree). The edge sends it; the origin refuses larger values.
 */
export const DEADLINE_HEADER = 'x-deadline-ms';
export const MAX_DEADLINE_MS = 600_000;
