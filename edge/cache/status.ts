// The RFC 9211 Cache-Status field value for this Worker's result cache: one list member naming the
// cache, with `hit` (and `ttl`) or `fwd` (and `stored`), plus a `detail` token saying why when useful.

export const RESULT_CACHE_NAME = 'edge-results';

/** Why the cache did not take part (fwd=bypass) or did not store (stored=?0); sf-tokens, not strings. */
export type CacheDetail =
  | 'cache-false'
  | 'disabled'
  | 'unavailable'
  | 'latency-budget'
  | 'degraded'
  | 'no-checksum'
  | 'not-answered';

export type CacheOutcome =
  /** Answered from the cache; ttl is the remaining freshness in whole seconds. */
  | { kind: 'hit'; ttlS: number }
  /** Looked up, not found, computed; stored says whether the fresh answer was handed to the cache. */
  | { kind: 'miss'; stored: boolean; detail?: CacheDetail }
  /** The cache did not look (and will not store) for this request. */
  | { kind: 'bypass'; detail: CacheDetail };

export function cacheStatus(outcome: CacheOutcome): string {
  const parts = [RESULT_CACHE_NAME];
  if (outcome.kind === 'hit') parts.push('hit', `ttl=${Math.max(0, Math.floor(outcome.ttlS))}`);
  else if (outcome.kind === 'bypass') parts.push('fwd=bypass');
  // A true Structured Fields boolean parameter is written bare (RFC 8941 §4.1.1), false as ?0.
  else parts.push('fwd=uri-miss', outcome.stored ? 'stored' : 'stored=?0');
  if (outcome.kind !== 'hit' && outcome.detail) parts.push(`detail=${outcome.detail}`);
  return parts.join('; ');
}
