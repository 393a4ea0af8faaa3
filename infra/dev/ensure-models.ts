// Builds the models the local stack serves when they are missing: pretrained when the hub answers,
// seeded random weights otherwise (and then the stack says, loudly, that its answers are meaningless).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE } from '../../shared/catalog/manifest.ts';
import { CATALOG, type ModelId } from '../../shared/catalog/models.ts';
import { REPO_ROOT } from '../models/build.ts';
import { preoptimizeModelDir } from '../models/preoptimize.ts';

export interface WantedModel {
  id: ModelId;
  /** Graph and weights as two files: edge models must, to fit a 128 MB isolate. */
  split: boolean;
  /** Saved as onnxruntime optimised it (infra/models/preoptimize.ts), for a faster first edge request. */
  optimize?: boolean;
}

export interface ModelStatus {
  id: ModelId;
  dir: string;
  weights: 'pretrained' | 'untrained';
}

export type WeightsPreference = 'auto' | 'pretrained' | 'random';

const HUB_PROBE_TIMEOUT_MS = 4000;

export async function hubReachable(
  endpoint = process.env.HF_ENDPOINT ?? 'https://huggingface.co',
): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'HEAD',
      signal: AbortSignal.timeout(HUB_PROBE_TIMEOUT_MS),
    });
    return response.status < 500;
  } catch {
    return false;
  }
}

/** Builds what is missing, two builds at a time (one per core), and reports every model's weights. */
export async function ensureModels(
  modelsDir: string,
  wanted: readonly WantedModel[],
  preference: WeightsPreference,
  log: (line: string) => void,
): Promise<ModelStatus[]> {
  const missing = wanted.filter((m) => !existsSync(path.join(modelsDir, m.id, 'model.json')));
  if (missing.length > 0) {
    const pretrained = preference === 'pretrained' || (preference === 'auto' && (await hubReachable()));
    if (!pretrained) {
      log(
        'the model hub is unreachable (or MODELS_WEIGHTS=random): building UNTRAINED models with seeded random weights',
      );
    }
    // Largest first, so the two lanes finish at about the same time.
    const queue = [...missing].sort((a, b) => CATALOG[b.id].resolution - CATALOG[a.id].resolution);
    const lane = async () => {
      for (let next = queue.shift(); next; next = queue.shift())
        await buildOne(modelsDir, next, pretrained, log);
    };
    await Promise.all([lane(), lane()]);
  }
  // Folders built before the factory optimised edge graphs get the optimised graph now (~1 s each).
  for (const model of wanted.filter((m) => m.optimize)) {
    const dir = path.join(modelsDir, model.id);
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as {
      optimized?: unknown;
    };
    if (manifest.optimized) continue;
    const { optimized } = await preoptimizeModelDir(dir);
    log(`${model.id}: saved the graph as ${optimized.by} optimises it (level ${optimized.level})`);
  }
  return Promise.all(
    wanted.map(async (m) => {
      const dir = path.join(modelsDir, m.id);
      const meta = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as {
        weights: ModelStatus['weights'];
      };
      return { id: m.id, dir, weights: meta.weights };
    }),
  );
}

function buildOne(
  modelsDir: string,
  model: WantedModel,
  pretrained: boolean,
  log: (line: string) => void,
): Promise<void> {
  const entry = CATALOG[model.id];
  const args = ['infra/models/cli.ts', 'build', entry.variant, '--out', modelsDir];
  if (pretrained) args.push('--weights', `hf:${entry.pretrainedRepo}`);
  if (model.split) args.push('--split');
  if (model.optimize) args.push('--optimize');
  log(`building ${model.id} (${pretrained ? `pretrained from ${entry.pretrainedRepo}` : 'untrained'})…`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) {
        log(`built ${model.id} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
        resolve();
      } else {
        reject(new Error(`building ${model.id} failed (exit ${code}); see the message above`));
      }
    });
  });
}
