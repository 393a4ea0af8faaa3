// The edge's deployed graphs (`models build --split --optimize`, infra/models/preoptimize.ts): saved as
// onnxruntime-node optimised them, weights split out, and giving the same logits as the plain graph on
// onnxruntime-web (the Worker's WASM build) within 1e-4 on a real photo.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ortWeb from 'onnxruntime-web/wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { inputTensor } from '../../infra/bench/edge-measure.ts';
import { testPhoto } from '../../infra/bench/images.ts';
import { REPO_ROOT } from '../../infra/models/build.ts';
import { preoptimizedTestModels, type TestModels, testModels } from '../../infra/models/cache.ts';
import { DATA_FILE, MODEL_FILE, ModelManifestSchema } from '../../shared/catalog/manifest.ts';
import type { ModelId } from '../../shared/catalog/models.ts';

/** The bound for adopting a graph change; logits of these untrained models are ~1. */
const LOGIT_TOLERANCE = 1e-4;

let plain: TestModels;
let optimized: TestModels;
let photo: Uint8Array;

beforeAll(async () => {
  plain = await testModels();
  optimized = await preoptimizedTestModels();
  photo = (await testPhoto()).bytes;
  ortWeb.env.wasm.numThreads = 1;
});

async function webLogits(dir: string, level: 'all' | 'disabled', input: Float32Array, side: number) {
  const manifest = ModelManifestSchema.parse(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')));
  const session = await ortWeb.InferenceSession.create(
    new Uint8Array(readFileSync(path.join(dir, MODEL_FILE))),
    {
      executionProviders: ['wasm'],
      graphOptimizationLevel: level,
      ...(manifest.split
        ? {
            externalData: [
              { path: DATA_FILE, data: new Uint8Array(readFileSync(path.join(dir, DATA_FILE))) },
            ],
          }
        : {}),
    },
  );
  try {
    const out = await session.run({ input: new ortWeb.Tensor('float32', input, [1, 3, side, side]) });
    const logits = out.logits;
    if (!logits) throw new Error(`${dir} produced no logits`);
    return (logits.data as Float32Array).slice();
  } finally {
    await session.release();
  }
}

describe.each([
  ['efficientnet-b0', 224, 'b0'],
  ['efficientnet-b1', 240, 'b1Split'],
] as const)('%s as the edge deploys it', (id: ModelId, side, key) => {
  it('is marked optimised, split, with a small graph and truthful file hashes', () => {
    const dir = optimized[key].dir;
    const raw = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
      files: { name: string; bytes: number; sha256: string }[];
    };
    const manifest = ModelManifestSchema.parse(raw);
    expect(manifest).toMatchObject({ id, split: true, optimized: { level: 'extended' } });
    expect(manifest.optimized?.by).toMatch(/^onnxruntime-node \d/);
    expect(raw.files.map((f) => f.name)).toEqual([MODEL_FILE, DATA_FILE]);
    for (const file of raw.files) {
      const bytes = readFileSync(path.join(dir, file.name));
      expect(file.bytes).toBe(bytes.length);
      expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    // The weights live in the data file: the graph alone is small, as for the plain split build.
    expect(statSync(path.join(dir, MODEL_FILE)).size).toBeLessThan(2 ** 20);
    expect(statSync(path.join(dir, DATA_FILE)).size).toBeGreaterThan(15 * 2 ** 20);
  });

  it(`gives the plain graph's logits within ${LOGIT_TOLERANCE} on onnxruntime-web, loaded with optimisation off`, async () => {
    const input = (await inputTensor(photo, id, side)).data as Float32Array;
    const reference = await webLogits(plain[key].dir, 'all', input, side);
    const candidate = await webLogits(optimized[key].dir, 'disabled', input, side);
    expect(candidate).toHaveLength(1000);
    let worst = 0;
    let largest = 0;
    for (let i = 0; i < reference.length; i++) {
      worst = Math.max(worst, Math.abs((reference[i] ?? 0) - (candidate[i] ?? 0)));
      largest = Math.max(largest, Math.abs(reference[i] ?? 0));
    }
    // Logits large enough that a wrong graph could not pass by being near zero.
    expect(largest).toBeGreaterThan(0.1);
    expect(worst).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    // Not the same file under another name: the optimiser changed the graph (fused nodes, fewer of them).
    expect(
      readFileSync(path.join(optimized[key].dir, MODEL_FILE)).equals(
        readFileSync(path.join(plain[key].dir, MODEL_FILE)),
      ),
    ).toBe(false);
  });
});

describe('models optimize (CLI)', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra/models/cli.ts'), ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('optimises a folder in place once, then says it already is', () => {
    const work = mkdtempSync(path.join(tmpdir(), 'models-optimize-'));
    try {
      const dir = path.join(work, 'efficientnet-b0');
      cpSync(plain.b0.dir, dir, { recursive: true });
      const first = cli('optimize', dir);
      expect(first.stderr).not.toMatch(/models:/);
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/optimised by onnxruntime-node .* \(level extended\)/);
      const manifest = ModelManifestSchema.parse(
        JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')),
      );
      expect(manifest).toMatchObject({ split: true, optimized: { level: 'extended' } });
      expect(readdirSync(work)).toEqual(['efficientnet-b0']);
      const again = cli('optimize', dir);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/^models: .* is already optimised/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('refuses --optimize with --fp16 before building anything', () => {
    const result = cli('build', 'b0', '--optimize', '--fp16', '--out', path.join(tmpdir(), 'never-written'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^models: --optimize and --fp16 together are not supported/);
  });
});
