// What one edge model run answers. Apart from edge-run.ts so that code without the ORT runtime (the
// in-process app, answers.ts) can name it.
import type { Prediction } from '../../shared/api/classify.ts';
import type { ModelId } from '../../shared/catalog/models.ts';

export interface EdgeRun {
  model: ModelId;
  weights: 'pretrained' | 'untrained';
  predictions: Prediction[];
  /** Top-1 probability, whatever top_k is. */
  top1: number;
  preprocessMs: number;
  inferenceMs: number;
}
