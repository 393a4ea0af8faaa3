import type { MeasuredProfile } from '../../shared/catalog/profile.ts';
import { measuredRow } from '../../shared/catalog/profile.ts';
import { ConfigError, DEFAULT_MAX_BATCH, type ProviderName } from '../config/config.ts';
import type { Classifier } from '../inference/classifier.ts';
import type { ModelManifest } from './manifest.ts';

// What the origin knows about a model's speed: from its profile when it has one, else timed at warm-up.

export interface ModelLatency {
  provider: ProviderName;
  p50_ms: number;
  p95_ms: number;
  /** "profile": ORIGIN_PROFILE's row; "warmup": timed on this process while loading. */
  source: 'profile' | 'warmup';
  /** Timed runs behind the figures (warm-up only). */
  runs?: number;
  /** When the figures were measured (the profile's date, or the end of the warm-up). */
  measured_at: string;
}

export interface MaxBatch {
  value: number;
  source: 'setting' | 'profile' | 'default';
}

export interface WarmupOptions {
  runs: number;
  budgetMs: number;
}

/** Nearest-rank percentile of `values` (non-empty). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * The profile's row for this model and provider. A row for another resolution profiles another graph:
 * that is a configuration error, like a manifest that does not match its setting.
 */
export function profiledRow(
  profile: MeasuredProfile | null,
  manifest: ModelManifest,
  provider: ProviderName,
) {
  if (!profile || manifest.variant === null) return undefined;
  const row = measuredRow(profile, manifest.variant, provider);
  if (row && row.resolution !== manifest.resolution) {
    throw new ConfigError(
      `ORIGIN_PROFILE measured ${manifest.variant} at ${row.resolution} px, but ${manifest.id} takes ${manifest.resolution} px: re-run \`npm run profile\` for these models`,
    );
  }
  return row;
}

export function profileLatency(
  profile: MeasuredProfile,
  row: { p50_ms: number; p95_ms: number },
  provider: ProviderName,
): ModelLatency {
  return { provider, p50_ms: row.p50_ms, p95_ms: row.p95_ms, source: 'profile', measured_at: profile.date };
}

/** An explicit setting wins; then the profile's measured best batch; then the default. */
export function maxBatchFor(setting: number | null, row: { best_batch?: number } | undefined): MaxBatch {
  if (setting !== null) return { value: setting, source: 'setting' };
  if (row?.best_batch !== undefined) return { value: row.best_batch, source: 'profile' };
  return { value: DEFAULT_MAX_BATCH, source: 'default' };
}

/**
 * Times single-image runs after the first (which allocates arenas and, on GPU, picks kernels). Stops after
 * `runs` or once `budgetMs` is spent, whichever is first; null when nothing was timed.
 */
export async function timeWarmRuns(
  classifier: Classifier,
  options: WarmupOptions,
  now: () => number = () => performance.now(),
): Promise<ModelLatency | null> {
  const input = new Float32Array(3 * classifier.inputSize * classifier.inputSize);
  await classifier.run(input, 1);
  const times: number[] = [];
  const started = now();
  while (times.length < options.runs && (times.length === 0 || now() - started < options.budgetMs)) {
    const t = now();
    await classifier.run(input, 1);
    times.push(now() - t);
  }
  if (times.length === 0) return null;
  return {
    provider: classifier.provider,
    p50_ms: round(percentile(times, 50)),
    p95_ms: round(percentile(times, 95)),
    source: 'warmup',
    runs: times.length,
    measured_at: new Date().toISOString(),
  };
}
