// Untrained EfficientNet-B0 (one file) and B1 (split: graph + external data), built once by the model
// factory and cached (test/support/model-cache.ts), shared by all test files and the edge benchmark.
import path from 'node:path';
import { cachedModels } from '../support/model-cache.ts';
import type { ModelFiles } from './harness.ts';

export interface TestModels {
  b0: ModelFiles;
  b1Split: ModelFiles;
}

/** EDGE_TEST_MODELS_DIR may name a directory already holding efficientnet-b0/ and a split efficientnet-b1/. */
export async function testModels(): Promise<TestModels> {
  const given = process.env.EDGE_TEST_MODELS_DIR;
  const dir = given
    ? path.resolve(given)
    : await cachedModels({
        suffix: '',
        builds: [
          { variant: 'b0', weights: 'random', seed: 0 },
          { variant: 'b1', weights: 'random', seed: 1, split: true },
        ],
      });
  return {
    b0: { id: 'efficientnet-b0', dir: path.join(dir, 'efficientnet-b0') },
    b1Split: { id: 'efficientnet-b1', dir: path.join(dir, 'efficientnet-b1') },
  };
}
