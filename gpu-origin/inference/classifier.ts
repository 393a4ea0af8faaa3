import type { ProviderName } from '../config/config.ts';

/** A loaded image classifier that takes NCHW float32 batches and returns logits. */
export interface Classifier {
  readonly name: string;
  /** The execution provider actually in use. */
  readonly provider: ProviderName;
  readonly inputName: string;
  readonly outputName: string;
  /** Square input side in pixels. */
  readonly inputSize: number;
  readonly classes: number;
  /** `batch` holds `count` images of [3, inputSize, inputSize]; returns [count, classes] logits. */
  run(batch: Float32Array, count: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}
