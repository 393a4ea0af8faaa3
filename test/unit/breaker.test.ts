import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type Permit } from '../../edge/origin/breaker.ts';

// Every transition of the breaker, driven by a hand-advanced clock.

function setup(options: { failureThreshold?: number; cooldownMs?: number; halfOpenProbes?: number } = {}) {
  const clock = { t: 1_000_000 };
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    cooldownMs: 1_000,
    ...options,
    now: () => clock.t,
  });
  const admit = (): Permit => {
    const admission = breaker.acquire();
    if (!admission.ok) throw new Error(`expected admission, breaker is ${breaker.state}`);
    return admission.permit;
  };
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) breaker.record(admit(), 'failure');
  };
  return { clock, breaker, admit, fail };
}

describe('circuit breaker: closed', () => {
  it('starts closed and admits ordinary (non-probe) calls', () => {
    const { breaker } = setup();
    expect(breaker.state).toBe('closed');
    const admission = breaker.acquire();
    expect(admission).toEqual({ ok: true, permit: { probe: false, generation: 0 } });
  });

  it('stays closed below the threshold and counts consecutive failures', () => {
    const { breaker, fail } = setup();
    fail(2);
    expect(breaker.state).toBe('closed');
    expect(breaker.failures).toBe(2);
  });

  it('a success resets the count, so failures must be consecutive', () => {
    const { breaker, admit, fail } = setup();
    fail(2);
    breaker.record(admit(), 'success');
    expect(breaker.failures).toBe(0);
    fail(2);
    expect(breaker.state).toBe('closed');
    fail(1);
    expect(breaker.state).toBe('open');
  });

  it('opens on the threshold-th consecutive failure', () => {
    const { breaker, fail } = setup({ failureThreshold: 1 });
    fail(1);
    expect(breaker.state).toBe('open');
  });
});

describe('circuit breaker: open', () => {
  it('fails fast with the remaining cooldown until the cooldown is over', () => {
    const { breaker, clock, fail } = setup();
    fail(3);
    expect(breaker.acquire()).toEqual({ ok: false, retryAfterMs: 1_000 });
    clock.t += 999;
    expect(breaker.state).toBe('open');
    expect(breaker.acquire()).toEqual({ ok: false, retryAfterMs: 1 });
  });

  it('reads as half-open once the cooldown has passed, exactly at the boundary', () => {
    const { breaker, clock, fail } = setup();
    fail(3);
    clock.t += 1_000;
    expect(breaker.state).toBe('half-open');
  });

  it('ignores outcomes of calls admitted before it opened', () => {
    const { breaker, clock, admit, fail } = setup();
    const lateFailure = admit();
    const lateSuccess = admit();
    fail(3);
    clock.t += 600;
    // A late failure must not restart the cooldown, and a late success must not close it.
    breaker.record(lateFailure, 'failure');
    expect(breaker.acquire()).toEqual({ ok: false, retryAfterMs: 400 });
    breaker.record(lateSuccess, 'success');
    expect(breaker.state).toBe('open');
  });
});

describe('circuit breaker: half-open', () => {
  function opened(halfOpenProbes = 1) {
    const s = setup({ halfOpenProbes });
    s.fail(3);
    s.clock.t += 1_000;
    return s;
  }

  it('admits one probe and fails the rest fast while it is in flight', () => {
    const { breaker } = opened();
    const first = breaker.acquire();
    expect(first.ok && first.permit.probe).toBe(true);
    expect(breaker.acquire()).toEqual({ ok: false, retryAfterMs: 1_000 });
    expect(breaker.state).toBe('half-open');
  });

  it('admits up to halfOpenProbes probes', () => {
    const { breaker } = opened(2);
    expect(breaker.acquire().ok).toBe(true);
    expect(breaker.acquire().ok).toBe(true);
    expect(breaker.acquire().ok).toBe(false);
  });

  it('a successful probe closes it and clears the failure count', () => {
    const { breaker, admit } = opened();
    breaker.record(admit(), 'success');
    expect(breaker.state).toBe('closed');
    expect(breaker.failures).toBe(0);
    const next = breaker.acquire();
    expect(next.ok && next.permit.probe).toBe(false);
  });

  it('after closing, the full threshold is needed to open again', () => {
    const { breaker, admit, fail } = opened();
    breaker.record(admit(), 'success');
    fail(2);
    expect(breaker.state).toBe('closed');
    fail(1);
    expect(breaker.state).toBe('open');
  });

  it('a failed probe re-opens it and the cooldown restarts from the failure', () => {
    const { breaker, clock, admit } = opened();
    const probe = admit();
    clock.t += 300;
    breaker.record(probe, 'failure');
    expect(breaker.state).toBe('open');
    expect(breaker.acquire()).toEqual({ ok: false, retryAfterMs: 1_000 });
    clock.t += 1_000;
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire().ok).toBe(true);
  });

  it('the first probe to report decides; the other probes of that round are then stale', () => {
    const { breaker, admit } = opened(2);
    const a = admit();
    const b = admit();
    breaker.record(a, 'success');
    breaker.record(b, 'failure');
    expect(breaker.state).toBe('closed');
    expect(breaker.failures).toBe(0);
  });

  it('stale outcomes from the closed period do not decide the half-open round', () => {
    const { breaker, clock, admit, fail } = setup();
    const early = admit();
    fail(3);
    clock.t += 1_000;
    const probe = admit();
    breaker.record(early, 'success');
    expect(breaker.state).toBe('half-open');
    breaker.record(probe, 'success');
    expect(breaker.state).toBe('closed');
  });
});

describe('circuit breaker: options', () => {
  it('refuses nonsensical settings', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker({ failureThreshold: 1.5 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker({ cooldownMs: -1 })).toThrow(/cooldownMs/);
    expect(() => new CircuitBreaker({ halfOpenProbes: 0 })).toThrow(/halfOpenProbes/);
  });

  it('defaults: 5 failures, 10 s cooldown, 1 probe', () => {
    const breaker = new CircuitBreaker();
    expect([breaker.failureThreshold, breaker.cooldownMs, breaker.halfOpenProbes]).toEqual([5, 10_000, 1]);
  });
});
