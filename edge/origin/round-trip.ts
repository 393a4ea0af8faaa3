// The observed edge->origin overhead (network, signing, the origin's HTTP handling: the call's elapsed
// time minus the origin's own reported total), smoothed per isolate. Its figure goes into the expected
// latency of origin models when latency_budget_ms chooses a model.

/** Weight of the newest observation: about the last 5 calls dominate. */
export const ROUND_TRIP_ALPHA = 0.3;

export class RoundTripEwma {
  private value: number | null = null;

  constructor(private readonly alpha: number = ROUND_TRIP_ALPHA) {}

  /** The smoothed round trip in ms, or null before the first observation. */
  get ms(): number | null {
    return this.value;
  }

  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.value = this.value === null ? ms : this.value + this.alpha * (ms - this.value);
  }
}

/** The overhead of one call: what the edge waited beyond the origin's own total (never negative). */
export function overheadMs(elapsedMs: number, originTotalMs: number): number {
  return Math.max(0, elapsedMs - originTotalMs);
}
