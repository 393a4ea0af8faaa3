// The origin's models for end-to-end tests: real EfficientNet-B5 and B7 (native 456 px / 600 px graphs,
// seeded random weights) built once by the model factory and cached under
// models/.test-cache/<hash of the factory sources>.origin/. Building both takes minutes on two cores, so
// the cache is what keeps repeated runs cheap. A lock directory keeps two processes from building at once.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../workerd/harness.ts';

const FACTORY_SOURCES = ['shared/efficientnet', 'shared/onnx', 'infra/models'];
const CACHE_ROOT = path.join(REPO_ROOT, 'models', '.test-cache');
const SUFFIX = '.origin';
const LOCK_STALE_MS = 15 * 60_000;

export const ORIGIN_TEST_MODELS = ['efficientnet-b5', 'efficientnet-b7'] as const;

/** E2E_ORIGIN_MODELS_DIR may name a directory already holding efficientnet-b5/ and efficientnet-b7/. */
export async function originModelsDir(log: (line: string) => void = console.log): Promise<string> {
  const given = process.env.E2E_ORIGIN_MODELS_DIR;
  if (given) return path.resolve(given);
  const dir = path.join(CACHE_ROOT, `${await factoryHash()}${SUFFIX}`);
  const ready = path.join(dir, 'READY');
  if (!existsSync(ready)) await buildLocked(dir, ready, log);
  return dir;
}

async function buildLocked(dir: string, ready: string, log: (line: string) => void): Promise<void> {
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
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    if (existsSync(ready)) return;
    const staging = `${dir}.building`;
    await rm(staging, { recursive: true, force: true });
    const { buildModelFiles } = await import('../../infra/models/build.ts');
    for (const [seed, variant] of (['b5', 'b7'] as const).entries()) {
      const started = Date.now();
      await buildModelFiles({ variant, weights: 'random', seed: 5 + seed, outDir: staging });
      log(
        `[e2e] built efficientnet-${variant} (untrained) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    await writeFile(ready, new Date().toISOString());
    await removeStaleBuilds(dir);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

// Origin builds for older factory sources are dead weight (~330 MB each).
async function removeStaleBuilds(current: string): Promise<void> {
  const entries = await readdir(CACHE_ROOT);
  for (const name of entries) {
    const full = path.join(CACHE_ROOT, name);
    if (full === current || !name.endsWith(SUFFIX) || entries.includes(`${name}.lock`)) continue;
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
