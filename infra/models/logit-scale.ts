// Untrained models: the BatchNorm calibration runs at up to 128 px, so at a large model's native resolution
// (456-600 px) its logits drift to a spread of 30 and more, and softmax turns one-hot: every untrained
// answer would claim certainty, and no confidence-based escalation could ever trigger. One forward pass in
// onnxruntime-node at the native resolution measures the spread; the classifier is then scaled to hit it.
import * as ort from 'onnxruntime-node';
import {
  type ExportOptions,
  encodePrepared,
  type PreparedWeights,
  scaleLogits,
} from '../../shared/efficientnet/export.ts';
import { prng } from '../../shared/efficientnet/random.ts';
import { concatChunks } from '../../shared/onnx/protobuf.ts';

/** Target standard deviation of untrained logits over noise images (B0's own calibration gives ~2.5). */
export const UNTRAINED_LOGIT_STD = 2;
const NOISE_IMAGES = 2;

export async function measureLogitStd(
  prepared: PreparedWeights,
  options: ExportOptions,
  seed: number,
): Promise<number> {
  const inline = encodePrepared(prepared, { ...options, fp16: false, externalDataLocation: undefined });
  const session = await ort.InferenceSession.create(concatChunks(inline.encoded.graphChunks), {
    intraOpNumThreads: 0,
  });
  try {
    const r = options.config.resolution;
    const next = prng(seed ^ 0x5eed);
    // Unit-variance noise, like normalised pixels.
    const input = Float32Array.from(
      { length: NOISE_IMAGES * 3 * r * r },
      () => (2 * next() - 1) * Math.sqrt(3),
    );
    const feeds = {
      [session.inputNames[0] ?? 'input']: new ort.Tensor('float32', input, [NOISE_IMAGES, 3, r, r]),
    };
    const output = (await session.run(feeds))[session.outputNames[0] ?? 'logits'];
    const logits = output?.data as Float32Array;
    let sum = 0;
    let sumSq = 0;
    for (const v of logits) {
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / logits.length;
    return Math.sqrt(Math.max(sumSq / logits.length - mean * mean, 0));
  } finally {
    await session.release();
  }
}

/** Scales the classifier so untrained logits have UNTRAINED_LOGIT_STD; returns the factor applied. */
export async function normaliseUntrainedLogits(
  prepared: PreparedWeights,
  options: ExportOptions,
  seed: number,
): Promise<number> {
  const std = await measureLogitStd(prepared, options, seed);
  if (!(std > 0) || !Number.isFinite(std)) return 1;
  const factor = UNTRAINED_LOGIT_STD / std;
  scaleLogits(prepared, factor);
  return factor;
}
