import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { testModels } from '../../infra/models/cache.ts';
import { UNTRAINED_LOGIT_STD } from '../../infra/models/logit-scale.ts';
import { prng } from '../../shared/efficientnet/random.ts';

// Untrained models must keep a usable logit spread at their native resolution: neither ~1e-14 (vacuous)
// nor one-hot softmax (every answer certain, so confidence-based escalation could never trigger).

function logitStd(logits: Float32Array): number {
  const mean = logits.reduce((a, v) => a + v, 0) / logits.length;
  return Math.sqrt(logits.reduce((a, v) => a + (v - mean) ** 2, 0) / logits.length);
}

describe('untrained models built by the factory', () => {
  it('have logits whose spread is near the target on fresh noise, and say they are untrained', async () => {
    // The shared test build of B0 (infra/models/cache.ts): the factory's output for seed 0.
    const { dir } = (await testModels()).b0;
    const meta = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as {
      weights: string;
      resolution: number;
    };
    expect(meta.weights).toBe('untrained');
    const session = await ort.InferenceSession.create(await readFile(path.join(dir, 'model.onnx')));
    const r = meta.resolution;
    const next = prng(424242);
    // Noise from another seed than the build's, unit variance like normalised pixels.
    const input = Float32Array.from({ length: 2 * 3 * r * r }, () => (2 * next() - 1) * Math.sqrt(3));
    const result = await session.run({ input: new ort.Tensor('float32', input, [2, 3, r, r]) });
    const std = logitStd(result.logits?.data as Float32Array);
    await session.release();
    // Tolerance: a factor of 2 either way of the target, since the measuring noise differs from the build's.
    expect(std).toBeGreaterThan(UNTRAINED_LOGIT_STD / 2);
    expect(std).toBeLessThan(UNTRAINED_LOGIT_STD * 2);
  });
});
