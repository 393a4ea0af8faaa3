// The origin's models for end-to-end tests: real EfficientNet-B5 and B7 (native 456 px / 600 px graphs,
// seeded random weights), built once by the model factory and cached (test/support/model-cache.ts).
import path from 'node:path';
import { cachedModels } from '../support/model-cache.ts';

export const ORIGIN_TEST_MODELS = ['efficientnet-b5', 'efficientnet-b7'] as const;

/** E2E_ORIGIN_MODELS_DIR may name a directory already holding efficientnet-b5/ and efficientnet-b7/. */
export async function originModelsDir(log: (line: string) => void = console.log): Promise<string> {
  const given = process.env.E2E_ORIGIN_MODELS_DIR;
  if (given) return path.resolve(given);
  return cachedModels({
    suffix: '.origin',
    builds: [
      { variant: 'b5', weights: 'random', seed: 5 },
      { variant: 'b7', weights: 'random', seed: 6 },
    ],
    log,
  });
}
