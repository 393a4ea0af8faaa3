import * as ort from 'onnxruntime-node';
import { preprocess, type RgbImage } from '../../shared/preprocess/index.ts';
import { softmax, topK } from '../../shared/scores/ranking.ts';
import type { EvalModel } from './catalog.ts';

// One catalogued ONNX classifier on onnxruntime-node (CPU), reduced to what the cascade needs.

export interface Prediction {
  /** Up to five ImageNet class indices, most probable first (background outputs excluded). */
  readonly top5: readonly number[];
  /** Probability of the first of them: the number the escalation threshold is compared with. */
  readonly confidence: number;
}

export interface Classifier {
  readonly model: EvalModel;
  classify(image: RgbImage): Promise<Prediction>;
  close(): Promise<void>;
}

/** Ranks the class outputs (those at or after labelOffset) and returns ImageNet-numbered indices. */
export function rank(scores: Float32Array, model: Pick<EvalModel, 'output' | 'labelOffset'>): Prediction {
  const probabilities = model.output === 'logits' ? softmax(scores) : Float64Array.from(scores);
  if (probabilities.length <= model.labelOffset)
    throw new Error(`model output has ${probabilities.length} values, fewer than its label offset`);
  const top = topK(probabilities, 5, model.labelOffset);
  return { top5: top.map((t) => t.index - model.labelOffset), confidence: top[0]?.score ?? 0 };
}

export async function openClassifier(model: EvalModel, threads: number): Promise<Classifier> {
  const session = await ort.InferenceSession.create(model.path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (!inputName || !outputName) throw new Error(`${model.path}: graph needs one input and one output`);
  const side = model.preprocess.cropSize;
  return {
    model,
    async classify(image) {
      const input = new ort.Tensor('float32', preprocess(image, model.preprocess), [1, 3, side, side]);
      const result = await session.run({ [inputName]: input });
      const output = result[outputName];
      if (!output || !(output.data instanceof Float32Array))
        throw new Error(`${model.name}: output is not float32`);
      return rank(output.data, model);
    },
    close: () => session.release(),
  };
}
