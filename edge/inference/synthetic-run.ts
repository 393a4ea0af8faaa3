// One forward pass on a fixed synthetic input, for profiling a model in the deployed bundle without
// decoding an image (infra/profile times these requests from outside). Any model id in the bucket works,
// not only the edge tiers, so B2-B7 and custom-phi builds can be measured in the isolate too.
import type { ModelId } from '../../shared/catalog/models.ts';
import { loadedModel } from './registry.ts';

/** Ids the factory writes: efficientnet-b0..b7 and custom ones such as efficientnet-phi1.5. */
const MODEL_ID = /^efficientnet-[a-z0-9][a-z0-9.-]{0,31}$/;

export function isProfilableId(id: string): boolean {
  return MODEL_ID.test(id);
}

export async function syntheticRun(
  env: Env,
  id: string,
): Promise<{ resolution: number; logits: number; first: number }> {
  const { manifest, classifier } = await loadedModel(env, id as ModelId);
  const side = manifest.resolution;
  const input = new Float32Array(3 * side * side);
  for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 2;
  const logits = await classifier.run(input, [1, 3, side, side]);
  return { resolution: side, logits: logits.length, first: logits[0] ?? Number.NaN };
}
