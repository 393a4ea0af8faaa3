// The edge's compute for in-process app tests (createEdgeApp): the header probe stays real, decoding and
// inference are replaced by a fake model with fixed logits. It records what it was asked to do, so tests
// can check that a refused request never reached decoding or a model.
import { topPredictions } from '../../edge/classify/predictions.ts';
import type { EdgeCompute } from '../../edge/compute.ts';
import type { ModelId } from '../../shared/catalog/models.ts';

export interface FakeCompute extends EdgeCompute {
  /** The probed size of every image handed to decode, in order. */
  decoded: { width: number; height: number }[];
  /** The shortest side each decode was asked to keep (its model's decodeMinSideFor), in order. */
  decodeMinSides: (number | undefined)[];
  /** Every model run, in order. */
  runs: ModelId[];
}

export interface FakeComputeOptions {
  /** 1000 logits; their softmax is the fake model's answer. */
  logits: Float32Array;
  weightsOf?: EdgeCompute['weightsOf'];
  resultCache?: EdgeCompute['resultCache'];
  /** What the fake reports as preprocessing time (ms); default 0. */
  preprocessMs?: number;
}

export function fakeCompute(options: FakeComputeOptions): FakeCompute {
  const compute: FakeCompute = {
    decoded: [],
    decodeMinSides: [],
    runs: [],
    decode: async (_bytes, probe, minSide) => {
      compute.decoded.push({ width: probe.width, height: probe.height });
      compute.decodeMinSides.push(minSide);
      return { width: probe.width, height: probe.height, channels: 3, data: new Uint8Array(3) };
    },
    runModel: async (_env, model, _image, topK) => {
      compute.runs.push(model);
      const predictions = topPredictions(options.logits, Math.max(1, topK));
      return {
        model,
        weights: 'untrained',
        predictions,
        top1: predictions[0]?.score ?? Number.NaN,
        preprocessMs: options.preprocessMs ?? 0,
        inferenceMs: 0,
      };
    },
    isLoaded: (model) => compute.runs.includes(model),
    weightsOf: options.weightsOf ?? (async () => 'untrained'),
    ...(options.resultCache ? { resultCache: options.resultCache } : {}),
  };
  return compute;
}

/** Logits whose top class is `index`, well ahead of the rest. */
export function logitsFavouring(index: number): Float32Array {
  return Float32Array.from({ length: 1000 }, (_, i) => (i === index ? 5 : 0));
}
