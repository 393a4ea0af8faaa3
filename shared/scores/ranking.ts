// Turning a model's output row into ranked classes: the same arithmetic at the edge, at the origin and in
// the evaluation, so their answers can be compared exactly.

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
 * Indices of the k largest scores, best first (ties: lower index first), skipping indices below `from`
 * (e.g. a background class). One pass with a k-long insertion list: k is at most 20 against 1000 classes.
 */
export function topK(scores: ArrayLike<number>, k: number, from = 0): { index: number; score: number }[] {
  const best: { index: number; score: number }[] = [];
  for (let i = from; i < scores.length; i++) {
    const score = scores[i] ?? Number.NEGATIVE_INFINITY;
    if (best.length === k && score <= (best[k - 1]?.score ?? Number.NEGATIVE_INFINITY)) continue;
    let at = best.length;
    while (at > 0 && (best[at - 1]?.score ?? 0) < score) at--;
    best.splice(at, 0, { index: i, score });
    if (best.length > k) best.pop();
  }
  return best;
}
