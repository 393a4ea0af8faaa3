import type { Prediction } from '../../shared/api/classify.ts';
import { imagenetLabel } from '../../shared/catalog/labels.ts';
import { softmax, topK } from '../../shared/scores/ranking.ts';

/**
 * The k most probable ImageNet classes, highest first (ties by lower index). `labelOffset` skips a
 * leading background class in models that have one.
 */
export function topPredictions(logits: Float32Array, k: number, labelOffset = 0): Prediction[] {
  return topK(softmax(logits), k, labelOffset).map(({ index, score }) => ({
    index: index - labelOffset,
    label: imagenetLabel(index - labelOffset),
    score,
  }));
}
