// A read-only view of a checkpoint: named tensors that can be turned into float32 arrays.
// safetensors files and generated random weights both satisfy it.

export interface TensorEntry {
  readonly shape: readonly number[];
  /** A float32 array the caller may modify (folding works in place). */
  toFloat32(): Float32Array;
}

export type TensorMap = ReadonlyMap<string, TensorEntry>;

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Fetches a tensor and checks its shape, naming the tensor and both shapes on mismatch. */
export function takeTensor(tensors: TensorMap, name: string, expected: readonly number[]): Float32Array {
  const entry = tensors.get(name);
  if (!entry)
    throw new CheckpointError(`checkpoint is missing tensor ${name} (expected shape ${shapeText(expected)})`);
  const same = entry.shape.length === expected.length && entry.shape.every((d, i) => d === expected[i]);
  if (!same) {
    throw new CheckpointError(
      `tensor ${name} has shape ${shapeText(entry.shape)}, expected ${shapeText(expected)}`,
    );
  }
  return entry.toFloat32();
}
