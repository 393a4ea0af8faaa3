import { ApiError } from '../../shared/http/errors.ts';

// The `data` of an Open Inference Protocol tensor: row-major values, flat or nested. Read without recursion
// deeper than the shape's rank and straight into the Float32Array the model needs, stopping at the first
// value too many, so a deep or oversized `data` costs no more than a valid one.

export function readTensorData(data: unknown, shape: readonly number[]): Float32Array {
  const total = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(total);
  let count = 0;
  const bad = (message: string) => new ApiError('invalid_parameter', `The input's data ${message}.`);

  const walk = (node: unknown[], depth: number): void => {
    for (const item of node) {
      if (typeof item === 'number') {
        if (!Number.isFinite(item)) throw bad('must hold finite numbers only');
        if (count === total)
          throw bad(`holds more than the ${total} values shape [${shape.join(', ')}] needs`);
        out[count++] = item;
      } else if (Array.isArray(item)) {
        if (depth >= shape.length)
          throw bad(`is nested deeper than shape [${shape.join(', ')}] allows (${shape.length} levels)`);
        walk(item, depth + 1);
      } else {
        throw bad('must hold numbers only');
      }
    }
  };
  if (!Array.isArray(data)) throw bad('must be an array of numbers');
  walk(data, 1);
  if (count !== total) throw bad(`holds ${count} values; shape [${shape.join(', ')}] needs ${total}`);
  return out;
}
