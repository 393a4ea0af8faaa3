// The models CLI, spawned as users run it: stats, a real build, and bad input (one message, exit != 0,
// nothing partial left behind).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../shared/onnx/safetensors.ts';

const root = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'models-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'infra/models/cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 170_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('models CLI', () => {
  it('stats --json lists b0..b7 with params and MACs', () => {
    const r = cli('stats', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as {
      variant: string;
      resolution: number;
      params: number;
      macs: number;
    }[];
    expect(rows.map((x) => x.variant)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7']);
    expect(rows[0]).toMatchObject({ resolution: 224, params: 5_267_540, macs: expect.any(Number) });
    expect(rows[7]?.macs).toBeGreaterThan(37e9);
  });

  it('build b0 --split writes model.onnx, model.onnx.data and a truthful model.json', async () => {
    const out = join(work, 'ok');
    const r = cli('build', 'b0', '--split', '--seed', '4', '--out', out);
    expect(r.stderr).not.toMatch(/models:/);
    expect(r.code).toBe(0);
    const dir = join(out, 'efficientnet-b0');
    expect(readdirSync(out)).toEqual(['efficientnet-b0']);
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(meta).toMatchObject({
      id: 'efficientnet-b0',
      variant: 'b0',
      resolution: 224,
      weights: 'untrained',
      source: 'random',
      seed: 4,
      split: true,
      fp16: false,
      input: { name: 'input', shape: ['batch', 3, 224, 224] },
      output: { name: 'logits', classes: 1000 },
      params: 5_267_540,
    });
    for (const f of meta.files as { name: string; bytes: number; sha256: string }[]) {
      const bytes = readFileSync(join(dir, f.name));
      expect(bytes.length).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    const x = new Float32Array(3 * 224 * 224).fill(0.5);
    const y = (await session.run({ input: new ort.Tensor('float32', x, [1, 3, 224, 224]) })).logits;
    expect(y?.dims).toEqual([1, 1000]);
    await session.release();
  });

  const failures: [string, () => string[], RegExp][] = [
    ['unknown variant', () => ['build', 'b9', '--out', join(work, 'bad1')], /unknown variant "b9"/],
    [
      'missing tensor',
      () => {
        const file = join(work, 'missing.safetensors');
        writeFileSync(
          file,
          writeSafetensors({ 'conv_stem.weight': { shape: [32, 3, 3, 3], data: new Float32Array(864) } }),
        );
        return ['build', 'b0', '--weights', file, '--out', join(work, 'bad2')];
      },
      /missing tensor bn1\.weight \(expected shape \[32\]\)/,
    ],
    [
      'wrong shape',
      () => {
        const file = join(work, 'shape.safetensors');
        writeFileSync(
          file,
          writeSafetensors({ 'features.0.0.weight': { shape: [24, 3, 3, 3], data: new Float32Array(648) } }),
        );
        return ['build', 'b0', '--weights', file, '--out', join(work, 'bad3')];
      },
      /tensor features\.0\.0\.weight has shape \[24, 3, 3, 3\], expected \[32, 3, 3, 3\]/,
    ],
    [
      'unreadable checkpoint',
      () => ['build', 'b0', '--weights', join(work, 'nope.safetensors'), '--out', join(work, 'bad4')],
      /cannot read checkpoint .*ENOENT/,
    ],
    [
      'unwritable out dir',
      () => {
        const file = join(work, 'a-file');
        writeFileSync(file, 'x');
        return ['build', 'b0', '--out', join(file, 'sub')];
      },
      /cannot write to .*a-file\/sub: ENOTDIR/,
    ],
  ];

  it.each(failures)('%s: one clear message, exit != 0, nothing left behind', (_name, args, message) => {
    const argv = args();
    const r = cli(...argv);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')[0]).toMatch(message);
    const outIndex = argv.indexOf('--out');
    const out = argv[outIndex + 1] as string;
    let leftovers: string[] = [];
    try {
      leftovers = readdirSync(out);
    } catch {
      leftovers = [];
    }
    expect(leftovers).toEqual([]);
  });
});
