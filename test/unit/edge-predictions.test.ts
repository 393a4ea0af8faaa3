import { describe, expect, it } from 'vitest';
import { topPredictions } from '../../edge/classify/predictions.ts';
import { imagenetLabel } from '../../shared/catalog/labels.ts';
import { softmax } from '../../shared/scores/ranking.ts';

function seededLogits(n: number, scale: number, seed: number): Float32Array {
  let state = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out[i] = (state / 2 ** 31 - 0.5) * scale;
  }
  return out;
}

describe('softmax', () => {
  it.each([1, 10, 500])('sums to 1 within 1e-9 over 1000 logits of spread %d, without overflow', (scale) => {
    const p = softmax(seededLogits(1000, scale, scale));
    expect(p.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)).toBe(true);
    expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
  });

  it('matches exp(x)/sum(exp) on small inputs (1e-7: ln 3 is rounded to float32)', () => {
    const p = softmax(new Float32Array([0, Math.log(3)]));
    expect(Math.abs((p[0] ?? 0) - 0.25)).toBeLessThan(1e-7);
    expect(Math.abs((p[1] ?? 0) - 0.75)).toBeLessThan(1e-7);
  });
});

describe('topPredictions', () => {
  it('sorts by probability, breaks ties by index, labels from the catalog', () => {
    const logits = new Float32Array(1000);
    logits[7] = 5;
    logits[3] = 2;
    logits[9] = 2;
    const top = topPredictions(logits, 3);
    expect(top.map((p) => p.index)).toEqual([7, 3, 9]);
    expect(top[0]?.label).toBe(imagenetLabel(7));
    expect(top[1]?.score).toBe(top[2]?.score);
  });

  it('skips a leading background class', () => {
    const logits = new Float32Array(1001);
    logits[0] = 50;
    logits[1] = 10;
    const top = topPredictions(logits, 1, 1);
    expect(top[0]?.index).toBe(0);
    expect(top[0]?.label).toBe(imagenetLabel(0));
  });
});
