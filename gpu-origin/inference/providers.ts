import type { ProviderName } from '../config/config.ts';

// Which execution providers to try, in order, and what to say when one cannot be used. ORT never falls
// back to CPU by itself: asking for CUDA where its libraries are missing throws
// "Failed to load shared library", so the decision is made (and logged) here.

export interface ProviderPolicy {
  /** In order of preference, e.g. ["cuda", "cpu"]. */
  providers: readonly ProviderName[];
  /** Whether CPU may stand in when every accelerated provider failed. */
  allowCpuFallback: boolean;
}

export class ProviderError extends Error {}

/**
 * Providers to try, in order. CPU listed first means "run on CPU". Otherwise CPU is only tried after the
 * accelerators failed, and only when fallback is allowed, whether or not "cpu" is in the list.
 */
export function providerAttempts(policy: ProviderPolicy): ProviderName[] {
  const accelerated = policy.providers.filter((p) => p !== 'cpu');
  if (policy.providers[0] === 'cpu' || accelerated.length === 0) return ['cpu'];
  return policy.allowCpuFallback ? [...accelerated, 'cpu'] : accelerated;
}

/** Short reason from ORT's error, e.g. "CUDA libraries not found (Failed to load shared library)". */
export function conciseReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('Failed to load shared library')) {
    return 'its libraries could not be loaded: Failed to load shared library';
  }
  return (message.split('\n')[0] ?? 'unknown error').slice(0, 200);
}
