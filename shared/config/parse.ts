import type { z } from 'zod';
import { describeIssues } from '../api/errors.ts';

/**
 * Parses a service's settings with its schema; every bad setting goes into one error, named (never
 * quoted: values may be secrets), so a misconfigured service says what to fix in one line.
 */
export function parseSettings<T extends z.ZodType>(
  schema: T,
  values: unknown,
  toError: (message: string) => Error,
): z.infer<T> {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  throw toError(`invalid configuration: ${describeIssues(parsed.error.issues)}`);
}
