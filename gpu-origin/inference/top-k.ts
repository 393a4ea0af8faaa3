/** Numerically stable softmax over one row of logits. */
export function softmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of logits) if (v > max) max = v;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/** Indices of the k largest scores, best first, skipping indices below `from` (e.g. a background class). */
export function topK(scores: Float64Array, k: number, from = 0): { index: number; score: number }[] {
  const best: { index: number; score: number }[] = [];
  for (let i = from; i < scores.length; i++) {
    const score = scores[i] as number;
    if (best.length === k && score <= (best[k - 1]?.score ?? Number.NEGATIVE_INFINITY)) continue;
    let at = best.length;
    while (at > 0 && (best[at - 1]?.score ?? 0) < score) at--;
    best.splice(at, 0, { index: i, score });
    if (best.length > k) best.pop();
  }
  return best;
}
