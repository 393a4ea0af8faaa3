// Circuit breaker for calls to the origin. No I/O and no timers: time comes from an injected clock, so
// every transition is testable and the breaker costs nothing while idle.
//
// Scope: in Workers, module-level state lives per isolate, and one deployment runs many isolates across
// many locations. Each isolate therefore has its own breaker and learns about an origin outage on its own;
// the origin sees up to (isolates × failureThreshold) failing calls before every breaker is open, and one
// probe per isolate per cooldown afterwards. That is the intended, cheap trade-off: no shared storage on
// the hot path.
//
//   closed ──(failureThreshold consecutive failures)──▶ open
//   open ──(cooldownMs elapsed, on the next acquire)──▶ half-open
//   half-open ──(a probe succeeds)──▶ closed
//   half-open ──(a probe fails)──▶ open (cooldown starts again)
// While half-open at most halfOpenProbes calls are in flight; the rest fail fast.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures (errors or timeouts) that open the breaker. Default 5. */
  failureThreshold?: number;
  /** How long the breaker stays open before letting probes through. Default 10 000 ms. */
  cooldownMs?: number;
  /** Probe calls allowed in flight while half-open. Default 1. */
  halfOpenProbes?: number;
  /** Milliseconds clock; default Date.now. */
  now?: () => number;
}

/** Proof that a call was let through; hand it back to record() with the call's outcome. */
export interface Permit {
  readonly probe: boolean;
  /** Which open/close cycle admitted the call; outcomes from an earlier cycle are stale. */
  readonly generation: number;
}

export type Admission = { ok: true; permit: Permit } | { ok: false; retryAfterMs: number };

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  readonly halfOpenProbes: number;
  private readonly now: () => number;

  private current: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probesInFlight = 0;
  private generation = 0;

  constructor(options: BreakerOptions = {}) {
    this.failureThreshold = positiveInteger(options.failureThreshold ?? 5, 'failureThreshold');
    this.cooldownMs = nonNegative(options.cooldownMs ?? 10_000, 'cooldownMs');
    this.halfOpenProbes = positiveInteger(options.halfOpenProbes ?? 1, 'halfOpenProbes');
    this.now = options.now ?? Date.now;
  }

  /** The state as of now: an open breaker whose cooldown has passed reads as half-open. */
  get state(): BreakerState {
    if (this.current === 'open' && this.cooldownOver()) return 'half-open';
    return this.current;
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  /** Asks to make one call. A refusal carries how long until a probe could be admitted. */
  acquire(): Admission {
    if (this.current === 'open') {
      if (!this.cooldownOver())
        return { ok: false, retryAfterMs: this.openedAt + this.cooldownMs - this.now() };
      this.enter('half-open');
    }
    if (this.current === 'half-open') {
      // The pending probes decide; until they report, a full cooldown is the honest estimate.
      if (this.probesInFlight >= this.halfOpenProbes) return { ok: false, retryAfterMs: this.cooldownMs };
      this.probesInFlight++;
      return { ok: true, permit: { probe: true, generation: this.generation } };
    }
    return { ok: true, permit: { probe: false, generation: this.generation } };
  }

  /** Records how a permitted call ended. Calls admitted before the last transition change nothing. */
  record(permit: Permit, outcome: 'success' | 'failure'): void {
    if (permit.generation !== this.generation) return;
    if (this.current === 'closed') {
      if (outcome === 'success') this.consecutiveFailures = 0;
      else if (++this.consecutiveFailures >= this.failureThreshold) this.enter('open');
      return;
    }
    if (this.current === 'half-open' && permit.probe) {
      this.probesInFlight--;
      this.enter(outcome === 'success' ? 'closed' : 'open');
    }
  }

  private cooldownOver(): boolean {
    return this.now() - this.openedAt >= this.cooldownMs;
  }

  private enter(state: BreakerState): void {
    this.current = state;
    this.generation++;
    this.probesInFlight = 0;
    if (state === 'open') this.openedAt = this.now();
    if (state === 'closed') this.consecutiveFailures = 0;
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  return value;
}
