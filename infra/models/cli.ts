// npm run models -- stats [--json]
// npm run models -- build <variant> [--weights random|<file.safetensors>|hf:<repo>] [--source timm|tf|torchvision]
//                         [--seed N] [--split] [--fp16] [--optimize] [--out DIR]
// npm run models -- fetch <variant> [--repo R] [--split] [--fp16] [--optimize] [--out DIR]
// npm run models -- optimize <model dir>   (in place: the graph as onnxruntime optimised it, weights split)

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CATALOG } from '../../shared/catalog/models.ts';
import { isVariant } from '../../shared/efficientnet/variants.ts';
import { type BuildOptions, buildModelFiles, type PretrainedSource } from './build.ts';
import { preoptimizeModelDir } from './preoptimize.ts';
import { formatStatsTable, variantStats } from './stats.ts';

const USAGE = `usage:
  models stats [--json]
  models build <b0..b7> [--weights random|<file.safetensors>|hf:<repo>] [--source timm|tf|torchvision]
                        [--seed N] [--split] [--fp16] [--optimize] [--out DIR]
  models fetch <b0..b7> [--repo <hf repo>] [--split] [--fp16] [--optimize] [--out DIR]
  models optimize <model dir>`;

class UsageError extends Error {}

interface Parsed {
  readonly positional: string[];
  readonly values: ReturnType<typeof parseCommandLine>['values'];
}

function parseCommandLine(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      weights: { type: 'string' },
      source: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      repo: { type: 'string' },
      split: { type: 'boolean', default: false },
      fp16: { type: 'boolean', default: false },
      optimize: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
}

function parse(argv: readonly string[]): Parsed {
  try {
    const { positionals, values } = parseCommandLine(argv);
    for (const [name, value] of Object.entries(values))
      if (value === '') throw new UsageError(`--${name} needs a value`);
    return { positional: positionals, values };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node:util's messages name the option ("Unknown option '--x'", "Option '--seed <value>' argument missing").
    throw new UsageError((error as Error).message);
  }
}

function variantArg(p: Parsed): string {
  const variant = p.positional[1];
  if (!variant) throw new UsageError('missing variant (b0..b7)');
  if (!isVariant(variant))
    throw new UsageError(`unknown variant ${JSON.stringify(variant)}; expected one of b0..b7`);
  return variant;
}

function commonOptions(p: Parsed): Partial<BuildOptions> {
  const { source, seed: seedText, out } = p.values;
  if (source !== undefined && !['timm', 'tf', 'torchvision'].includes(source)) {
    throw new UsageError(`--source must be timm, tf or torchvision, got ${source}`);
  }
  const seed = seedText === undefined ? undefined : Number(seedText);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw new UsageError(`--seed must be an integer in [0, 2^32), got ${seedText}`);
  }
  return {
    split: p.values.split,
    fp16: p.values.fp16,
    optimize: p.values.optimize,
    ...(seed !== undefined ? { seed } : {}),
    ...(out ? { outDir: out } : {}),
    ...(source ? { source: source as PretrainedSource } : {}),
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const p = parse(argv);
  const command = p.positional[0];
  if (command === 'stats') {
    const rows = variantStats();
    process.stdout.write(p.values.json ? `${JSON.stringify(rows)}\n` : `${formatStatsTable(rows)}\n`);
    return;
  }
  if (command === 'optimize') {
    const dir = p.positional[1];
    if (!dir) throw new UsageError('missing model directory');
    const started = Date.now();
    const { files, optimized } = await preoptimizeModelDir(resolve(dir));
    const size = files.reduce((a, f) => a + f.bytes, 0);
    process.stdout.write(
      `${dir}: optimised by ${optimized.by} (level ${optimized.level}), ${(size / 2 ** 20).toFixed(1)} MiB ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
    return;
  }
  if (command === 'build' || command === 'fetch') {
    const variant = variantArg(p) as BuildOptions['variant'];
    const repo = p.values.repo ?? CATALOG[`efficientnet-${variant ?? 'b0'}`].pretrainedRepo;
    const weights = command === 'fetch' ? `hf:${repo}` : (p.values.weights ?? 'random');
    const started = Date.now();
    const { dir, meta } = await buildModelFiles({ ...commonOptions(p), variant, weights });
    const size = meta.files.reduce((a, f) => a + f.bytes, 0);
    process.stdout.write(
      `${meta.id}: ${meta.weights} (${meta.source}) ${(meta.params / 1e6).toFixed(3)}M params, ` +
        `${(meta.macs / 1e9).toFixed(3)} GMACs, ${(size / 2 ** 20).toFixed(1)} MiB -> ${dir} ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
    return;
  }
  throw new UsageError(command ? `unknown command ${command}` : 'missing command');
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const usage = err instanceof UsageError ? `\n${USAGE}` : '';
  process.stderr.write(`models: ${(err as Error).message ?? String(err)}${usage}\n`);
  process.exitCode = 1;
});
