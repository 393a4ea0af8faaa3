import type { Prediction } from './classifier.ts';

// Pure arithmetic of the edge → origin cascade over scored images. The edge answers unless its top-1
// probability is below the threshold; then the origin's answer is used and both models' work is paid.

export interface ScoredImage {
  readonly label: number;
  readonly edge: Prediction;
  readonly origin: Prediction;
}

export interface Accuracy {
  readonly top1: number;
  readonly top5: number;
}

export interface CascadePoint extends Accuracy {
  readonly threshold: number;
  readonly escalated: number;
  readonly escalationRate: number;
  /** Edge MACs always, plus origin MACs for the escalated share. */
  readonly avgMacs: number;
}

export interface ModelMacs {
  readonly edge: number;
  readonly origin: number;
}

export function accuracyOf(labels: readonly number[], predictions: readonly Prediction[]): Accuracy {
  if (labels.length === 0 || labels.length !== predictions.length)
    throw new RangeError('need one prediction per label');
  let top1 = 0;
  let top5 = 0;
  predictions.forEach((p, i) => {
    if (p.top5[0] === labels[i]) top1++;
    if (p.top5.includes(labels[i] as number)) top5++;
  });
  return { top1: top1 / labels.length, top5: top5 / labels.length };
}

export function escalates(edge: Prediction, threshold: number): boolean {
  return edge.confidence < threshold;
}

export function cascadeAt(images: readonly ScoredImage[], threshold: number, macs: ModelMacs): CascadePoint {
  const chosen = images.map((s) => (escalates(s.edge, threshold) ? s.origin : s.edge));
  const escalated = images.filter((s) => escalates(s.edge, threshold)).length;
  const escalationRate = escalated / images.length;
  return {
    threshold,
    ...accuracyOf(
      images.map((s) => s.label),
      chosen,
    ),
    escalated,
    escalationRate,
    avgMacs: macs.edge + escalationRate * macs.origin,
  };
}

export function sweep(
  images: readonly ScoredImage[],
  thresholds: readonly number[],
  macs: ModelMacs,
): CascadePoint[] {
  return thresholds.map((t) => cascadeAt(images, t, macs));
}
