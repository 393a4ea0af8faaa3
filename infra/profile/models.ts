// The graphs a profile runs: factory builds with random weights (compute does not depend on the weights),
// split into graph + external data as the edge deploys them, cached between runs under models/.test-cache.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type EfficientNetConfig, phiConfig, variantConfig } from '../../shared/efficientnet/config.ts';
import { countModel } from '../../shared/efficientnet/export.ts';
import { isVariant } from '../../shared/efficientnet/variants.ts';
import { type BuildOptions, REPO_ROOT } from '../models/build.ts';
import { cachedModels } from '../models/cache.ts';
import { PUBLISHED_TOP1 } from './published.ts';

export interface ProfiledModel {
  /** The token given on the command line: b3, phi0.5. */
  variant: string;
  /** R2 prefix / folder name: efficientnet-b3, efficientnet-phi0.5. */
  id: string;
  resolution: number;
  macs: number;
  params: number;
  top1Published: number | null;
}

function configOf(token: string): EfficientNetConfig {
  return isVariant(token) ? variantConfig(token) : phiConfig(Number(token.slice(3)));
}

export function describeModel(token: string): ProfiledModel {
  const config = configOf(token);
  const { params, macs } = countModel(config);
  return {
    variant: token,
    id: `efficientnet-${token}`,
    resolution: config.resolution,
    macs,
    params,
    top1Published: isVariant(token) ? PUBLISHED_TOP1[token] : null,
  };
}

const CACHE_ROOT = path.join(REPO_ROOT, 'models', '.test-cache');

/**
 * A finished build of `id` already in the test-model cache (B0/B1 of the edge set, B5/B7 of the origin
 * set), when its split matches or does not matter: a B7 costs minutes to build on two busy cores.
 */
function alreadyCached(id: string, split: boolean | null): string | null {
  if (!existsSync(CACHE_ROOT)) return null;
  for (const set of readdirSync(CACHE_ROOT)) {
    const dir = path.join(CACHE_ROOT, set, id);
    if (!existsSync(path.join(CACHE_ROOT, set, 'READY')) || !existsSync(path.join(dir, 'model.json')))
      continue;
    const meta = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
      variant?: string;
      split?: boolean;
      weights?: string;
      fp16?: boolean;
    };
    // A custom configuration under a catalog id (the narrow test B0) is not that model.
    if (meta.weights !== 'untrained' || meta.fp16 || meta.variant === 'custom') continue;
    if (split === null || meta.split === split) return dir;
  }
  return null;
}

/**
 * Folder holding model.json, model.onnx (and model.onnx.data when split); built on first use (B7:
 * minutes). The edge gets split builds, as it is deployed; the origin takes any float32 build.
 */
export async function modelDir(
  model: ProfiledModel,
  log: (line: string) => void,
  split: boolean | null,
): Promise<string> {
  const cached = alreadyCached(model.id, split);
  if (cached) return cached;
  const build: Omit<BuildOptions, 'outDir'> = isVariant(model.variant)
    ? { variant: model.variant, weights: 'random', seed: 0, split: true }
    : { config: configOf(model.variant), id: model.id, weights: 'random', seed: 0, split: true };
  // Built split either way, so one build serves both runtimes.
  log(`[profile] model ${model.id} (building it when not cached)`);
  const dir = await cachedModels({ suffix: `.profile-${model.variant}`, builds: [build], log });
  return path.join(dir, model.id);
}
