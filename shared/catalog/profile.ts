import { z } from 'zod';

// A measured profile (`npm run profile`, profiles/<runtime>.json) as the services read it at run time:
// only the fields they use are checked; the file carries more (cold start, memory, MACs, …).

export const PROFILE_RUNTIMES = ['edge', 'origin'] as const;
export type ProfileRuntime = (typeof PROFILE_RUNTIMES)[number];

/** Where the deployed profiles live in the model bucket, next to the model folders. */
export const PROFILE_KEYS: Readonly<Record<ProfileRuntime, string>> = {
  edge: 'profiles/edge.json',
  origin: 'profiles/origin.json',
};

const ms = z.number().nonnegative().nullable();

export const ProfileRowSchema = z.object({
  variant: z.string().min(1),
  runtime: z.enum(PROFILE_RUNTIMES),
  provider: z.string().min(1),
  resolution: z.number().int().positive(),
  p50_ms: ms,
  p95_ms: ms,
  /** Origin: the batch size with the best throughput; absent on the edge. */
  best_batch: z.number().int().positive().optional(),
  /** Edge: whether the model fits the 128 MB isolate. */
  fits: z.boolean().nullable().optional(),
});

export const ProfileSchema = z.object({
  runtime: z.enum(PROFILE_RUNTIMES),
  provider: z.string().min(1),
  date: z.string().min(1),
  rows: z.array(ProfileRowSchema),
});

export type ProfileRow = z.infer<typeof ProfileRowSchema>;
export type MeasuredProfile = z.infer<typeof ProfileSchema>;

/** A row with both latencies measured (a failed variant keeps its row with nulls). */
export type MeasuredRow = ProfileRow & { p50_ms: number; p95_ms: number };

/** The measured row for `variant` on `provider`, or undefined when the profile has none. */
export function measuredRow(
  profile: MeasuredProfile,
  variant: string,
  provider: string,
): MeasuredRow | undefined {
  return profile.rows.find(
    (row): row is MeasuredRow =>
      row.variant === variant && row.provider === provider && row.p50_ms !== null && row.p95_ms !== null,
  );
}
