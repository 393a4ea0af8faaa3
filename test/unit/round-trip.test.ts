import { describe, expect, it } from 'vitest';
import { overheadMs, ROUND_TRIP_ALPHA, RoundTripEwma } from '../../edge/origin/round-trip.ts';

describe('RoundTripEwma', () => {
  it('is unknown until observed, then starts at the first observation', () => {
    const ewma = new RoundTripEwma();
    expect(ewma.ms).toBeNull();
    ewma.observe(120);
    expect(ewma.ms).toBe(120);
  });

  it('moves by alpha towards each new observation and ignores nonsense', () => {
    const ewma = new RoundTripEwma();
    ewma.observe(100);
    ewma.observe(200);
    expect(ewma.ms).toBeCloseTo(100 + ROUND_TRIP_ALPHA * 100, 9);
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) ewma.observe(bad);
    expect(ewma.ms).toBeCloseTo(130, 9);
    // A steady round trip converges to it.
    for (let i = 0; i < 60; i++) ewma.observe(50);
    expect(ewma.ms).toBeCloseTo(50, 3);
  });

  it('takes the overhead as elapsed minus the origin total, never negative', () => {
    expect(overheadMs(530, 500)).toBe(30);
    expect(overheadMs(490, 500)).toBe(0);
  });
});
