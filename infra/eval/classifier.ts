import * as ort from 'onnxruntime-node';
import { preprocess, type RgbImage } from '../../shared/preprocess/index.ts';
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

function softmax(values: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max) max = v;
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp((values[i] as number) - max);
    sum += out[i] as number;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/** Ranks the class outputs (those at or after labelOffset) and returns ImageNet-numbered indices. */
export function rank(scores: Float32Array, model: Pick<EvalModel, 'output' | 'labelOffset'>): Prediction {
  const probabilities = model.output === 'logits' ? softmax(scores) : Float64Array.from(scores);
  const classes = probabilities.length - model.labelOffset;
  if (classes < 1)
    throw new Error(`model output has ${probabilities.length} values, fewer than its label offset`);
  const top: number[] = [];
  for (let c = 0; c < classes; c++) {
    const p = probabilities[c + model.labelOffset] as number;
    let at = top.length;
    while (at > 0 && p > (probabilities[(top[at - 1] as number) + model.labelOffset] as number)) at--;
    if (at < 5) {
      top.splice(at, 0, c);
      if (top.length > 5) top.pop();
    }
  }
  return { top5: top, confidence: probabilities[(top[0] as number) + model.labelOffset] as number };
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
