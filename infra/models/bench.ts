// npm run bench:models -- [--json] [--variants b0,b7]
// Build time and peak memory per variant; each build runs in its own child process so peak RSS is its own.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isVariant, type Variant } from '../../shared/efficientnet/variants.ts';
import { buildModelFiles } from './build.ts';

interface ChildResult {
  variant: Variant;
  split: boolean;
  buildSeconds: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  arrayBuffersMiB: number;
  bytesWritten: number;
}

async function child(variant: Variant, split: boolean): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'bench-models-'));
  let peakHeap = 0;
  let peakArrayBuffers = 0;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
  }, 50);
  try {
    const t0 = performance.now();
    const { meta } = await buildModelFiles({ variant, weights: 'random', seed: 0, split, outDir: out });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sample);
    const result: ChildResult = {
      variant,
      split,
      buildSeconds: Number(seconds.toFixed(2)),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      heapUsedMiB: Math.round(peakHeap / 2 ** 20),
      arrayBuffersMiB: Math.round(peakArrayBuffers / 2 ** 20),
      bytesWritten: meta.files.reduce((a, f) => a + f.bytes, 0),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    clearInterval(sample);
    rmSync(out, { recursive: true, force: true });
  }
}

function parent(json: boolean, variants: Variant[]): void {
  const self = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  for (const variant of variants) {
    for (const split of [false, true]) {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', self, '--child', variant, ...(split ? ['--split'] : [])],
        {
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`bench child ${variant} failed: ${r.stderr}`);
      results.push(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ChildResult);
    }
  }
  const report = {
    benchmark: 'models.build',
    node: process.version,
    cpus: cpus().length,
    date: new Date().toISOString(),
    note: 'random weights (includes BN calibration pass); peak RSS per child process; shared, noisy machine',
    results,
  };
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else
    for (const r of results)
      process.stdout.write(
        `${r.variant}${r.split ? ' split' : ''}: ${r.buildSeconds} s, peak RSS ${r.peakRssMiB} MiB\n`,
      );
}

const { values: flags } = parseArgs({
  options: {
    child: { type: 'string' },
    split: { type: 'boolean', default: false },
    variants: { type: 'string', default: 'b0,b7' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.child !== undefined) {
  const variant = flags.child;
  if (!isVariant(variant)) throw new Error(`unknown variant ${variant}`);
  await child(variant, flags.split);
} else {
  const list = flags.variants.split(',');
  const variants = list.filter(isVariant);
  if (variants.length !== list.length) throw new Error(`unknown variant in ${list.join(',')}`);
  parent(flags.json, variants);
}
