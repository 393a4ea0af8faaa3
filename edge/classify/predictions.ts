import type { Prediction } from '../../shared/api/classify.ts';
import { imagenetLabel } from '../../shared/catalog/labels.ts';

/** Numerically stable softmax (subtracts the max logit), in float64 for the sum. */
export function softmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of logits) if (value > max) max = value;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] ?? 0) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) / sum;
  return out;
}

/**
 * The k most probable ImageNet classes, highest first (ties by lower index). `labelOffset` skips a
 * leading background class in models that have one.
 */
export function topPredictions(logits: Float32Array, k: number, labelOffset = 0): Prediction[] {
  const probabilities = softmax(logits);
  const order: number[] = [];
  for (let i = labelOffset; i < probabilities.length; i++) order.push(i);
  order.sort((a, b) => (probabilities[b] ?? 0) - (probabilities[a] ?? 0) || a - b);
  return order.slice(0, k).map((i) => ({
    index: i - labelOffset,
    label: imagenetLabel(i - labelOffset),
    score: probabilities[i] ?? 0,
  }));
}
