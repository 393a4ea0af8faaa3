// Untrained EfficientNet-B0 (one file) and B1 (split: graph + external data), built once by the model
// factory and cached under models/.test-cache/<hash of the factory sources>/, shared by all test files
// and the edge benchmark. A lock directory keeps two processes from building at once.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelFiles } from './harness.ts';
import { REPO_ROOT } from './harness.ts';

const FACTORY_SOURCES = ['shared/efficientnet', 'shared/onnx', 'infra/models'];
const CACHE_ROOT = path.join(REPO_ROOT, 'models', '.test-cache');
const LOCK_STALE_MS = 10 * 60_000;

export interface TestModels {
  b0: ModelFiles;
  b1Split: ModelFiles;
}

/** EDGE_TEST_MODELS_DIR may name a directory already holding efficientnet-b0/ and a split efficientnet-b1/. */
export async function testModels(): Promise<TestModels> {
  const given = process.env.EDGE_TEST_MODELS_DIR;
  const dir = given ? path.resolve(given) : path.join(CACHE_ROOT, await factoryHash());
  const ready = path.join(dir, 'READY');
  if (!given && !existsSync(ready)) await buildLocked(dir, ready);
  return {
    b0: { id: 'efficientnet-b0', dir: path.join(dir, 'efficientnet-b0') },
    b1Split: { id: 'efficientnet-b1', dir: path.join(dir, 'efficientnet-b1') },
  };
}

async function buildLocked(dir: string, ready: string): Promise<void> {
  const lock = `${dir}.lock`;
  await mkdir(CACHE_ROOT, { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (existsSync(ready)) return;
      const age =
        Date.now() -
        (await stat(lock)
          .then((s) => s.mtimeMs)
          .catch(() => Date.now()));
      if (age > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    if (existsSync(ready)) return;
    const staging = `${dir}.building`;
    await rm(staging, { recursive: true, force: true });
    const { buildModelFiles } = await import('../../infra/models/build.ts');
    await buildModelFiles({
      variant: 'b0',
      weights: 'random',
      seed: 0,
      split: false,
      fp16: false,
      outDir: staging,
    });
    await buildModelFiles({
      variant: 'b1',
      weights: 'random',
      seed: 1,
      split: true,
      fp16: false,
      outDir: staging,
    });
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    await writeFile(ready, new Date().toISOString());
    await removeOtherBuilds(dir);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

// Builds for older factory sources are dead weight (~50 MB each); ones still being built are left alone.
async function removeOtherBuilds(current: string): Promise<void> {
  const entries = await readdir(CACHE_ROOT);
  for (const name of entries) {
    const full = path.join(CACHE_ROOT, name);
    if (full === current || name.includes('.') || entries.includes(`${name}.lock`)) continue;
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
      hash.update(`${folder}/${name}\0`);
      hash.update(await readFile(path.join(root, name)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}
