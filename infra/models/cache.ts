// Factory-built test models, built once and cached under models/.test-cache/<hash of the factory sources>
// <suffix>/, so repeated runs (and test files running in parallel) share one build. A lock directory keeps
// two processes from building at once; builds for older factory sources are removed once a new one lands.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { variantConfig } from '../../shared/efficientnet/config.ts';
import type { ModelFiles } from '../dev/workerd.ts';
import { type BuildOptions, buildModelFiles, REPO_ROOT } from './build.ts';

const FACTORY_SOURCES = ['shared/efficientnet', 'shared/onnx', 'infra/models'];
/** Files in those folders that do not shape a built model: editing them keeps the cache. */
const NOT_FACTORY = new Set([
  'infra/models/cli.ts',
  'infra/models/bench.ts',
  'infra/models/cache.ts',
  'infra/models/stats.ts',
]);
const CACHE_ROOT = path.join(REPO_ROOT, 'models', '.test-cache');
const LOCK_STALE_MS = 15 * 60_000;

export interface CachedBuild {
  /** Distinguishes sets of models built from the same factory sources, e.g. ".origin"; "" for the edge set. */
  suffix: string;
  builds: readonly Omit<BuildOptions, 'outDir'>[];
  log?: (line: string) => void;
}

/** The folder holding every model of `set`, building them first when the cache lacks them. */
export async function cachedModels(set: CachedBuild): Promise<string> {
  const dir = path.join(CACHE_ROOT, `${await factoryHash()}${set.suffix}`);
  const ready = path.join(dir, 'READY');
  if (!existsSync(ready)) await buildLocked(dir, ready, set);
  return dir;
}

async function buildLocked(dir: string, ready: string, set: CachedBuild): Promise<void> {
  const lock = `${dir}.lock`;
  await mkdir(CACHE_ROOT, { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (existsSync(ready)) return;
      const since = await stat(lock).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      );
      if (Date.now() - since > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    if (existsSync(ready)) return;
    const staging = `${dir}.building`;
    await rm(staging, { recursive: true, force: true });
    for (const build of set.builds) {
      const started = Date.now();
      const { meta } = await buildModelFiles({ ...build, outDir: staging });
      set.log?.(
        `[test models] built ${meta.id} (${meta.weights}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    await writeFile(ready, new Date().toISOString());
    await removeStaleBuilds(dir, set.suffix);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

// Builds of the same set for older factory sources are dead weight (50-330 MB each).
async function removeStaleBuilds(current: string, suffix: string): Promise<void> {
  const entries = await readdir(CACHE_ROOT);
  for (const name of entries) {
    const full = path.join(CACHE_ROOT, name);
    const sameSet = suffix ? name.endsWith(suffix) : !name.includes('.');
    if (full === current || !sameSet || entries.includes(`${name}.lock`)) continue;
    await rm(full, { recursive: true, force: true });
  }
}

async function factoryHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const folder of FACTORY_SOURCES) {
    const root = path.join(REPO_ROOT, folder);
    if (!existsSync(root)) continue;
    const names = (await readdir(root, { recursive: true })).filter((name) => name.endsWith('.ts')).sort();
    for (const name of names) {
      if (NOT_FACTORY.has(`${folder}/${name}`)) continue;
      hash.update(`${folder}/${name}\0`);
      hash.update(await readFile(path.join(root, name)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

export interface TestModels {
  b0: ModelFiles;
  b1Split: ModelFiles;
}

/**
 * Untrained EfficientNet-B0 (one file) and B1 (split: graph + external data), shared by every test file
 * and the edge benchmark. EDGE_TEST_MODELS_DIR may name a directory already holding efficientnet-b0/ and
 * a split efficientnet-b1/.
 */
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

/**
 * B0 and B1 as `npm start` deploys them to the edge: split, and saved as onnxruntime optimised them
 * (`models build --split --optimize`), with the same seeds as testModels(), so the same weights.
 */
export async function preoptimizedTestModels(): Promise<TestModels> {
  const dir = await cachedModels({
    suffix: '.edge-optimized',
    builds: [
      { variant: 'b0', weights: 'random', seed: 0, split: true, optimize: true },
      { variant: 'b1', weights: 'random', seed: 1, split: true, optimize: true },
    ],
  });
  return {
    b0: { id: 'efficientnet-b0', dir: path.join(dir, 'efficientnet-b0') },
    b1Split: { id: 'efficientnet-b1', dir: path.join(dir, 'efficientnet-b1') },
  };
}

/**
 * A narrow EfficientNet-B0 under B0's id: the same operators and 224 px input at a quarter of the width
 * and depth (a small fraction of B0's compute), untrained. For tests that send the image path hundreds
 * of requests and are not about the model, such as the fuzzer's CI subset. The folder holds
 * efficientnet-b0/, like the one testModels() uses.
 */
export async function narrowEdgeModelsDir(): Promise<string> {
  return cachedModels({
    suffix: '.narrow',
    builds: [
      {
        config: { ...variantConfig('b0'), width: 0.25, depth: 0.25 },
        id: 'efficientnet-b0',
        weights: 'random',
        seed: 0,
      },
    ],
  });
}

export const ORIGIN_TEST_MODELS = ['efficientnet-b5', 'efficientnet-b7'] as const;

/**
 * The origin's models for end-to-end tests: real EfficientNet-B5 and B7 (native 456 px / 600 px graphs,
 * seeded random weights). E2E_ORIGIN_MODELS_DIR may name a directory already holding both.
 */
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
