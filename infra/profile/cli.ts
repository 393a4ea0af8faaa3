// npm run profile -- [--json] [--runtime edge|origin] [--provider cpu|cuda] [--variants b0,b1,phi0.5]
//                     [--runs N] [--budget-s S] [--out FILE]
// npm run profile -- chart [--out FILE]
//
// Measures each EfficientNet variant on the runtime that serves it and writes profiles/<runtime>.json
// (rows: variant, runtime, provider, p50_ms, p95_ms, cold_ms, img_s, peak_mib, fits, top1_published,
// macs, params; plus the machine and date). Exit 2: bad arguments, or a runtime/provider this machine
// does not have. `chart` draws published top-1 against measured p50 from the profiles (chart.ts).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../models/build.ts';
import { type ProfileArgs, ProfileArgsError, parseProfileArgs, USAGE } from './args.ts';
import { checkAvailable, UnavailableError } from './availability.ts';
import { renderChart } from './chart.ts';
import type { Profile } from './row.ts';

export const PROFILES_DIR = path.join(REPO_ROOT, 'profiles');
export const CHART_FILE = path.join(REPO_ROOT, 'docs', 'profile-pareto.svg');

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

async function profile(args: ProfileArgs): Promise<void> {
  checkAvailable(args.runtime, args.provider);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const load = [round2(os.loadavg()[0] ?? 0)];
  // Loaded on demand: the edge runner pulls in wrangler, which argument errors should not wait for.
  const rows =
    args.runtime === 'edge'
      ? await (await import('./edge.ts')).profileEdge(args, log)
      : await (await import('./origin.ts')).profileOrigin(args, log);
  load.push(round2(os.loadavg()[0] ?? 0));
  const result: Profile = {
    runtime: args.runtime,
    provider: args.runtime === 'edge' ? 'wasm' : args.provider,
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      memory_gib: round2(os.totalmem() / 2 ** 30),
      platform: `${process.platform}/${process.arch}`,
      node: process.version,
      load_avg_1m: load,
    },
    date: new Date().toISOString(),
    notes: [
      "random-weight factory builds (compute is independent of the weights); top1_published is the pretrained weights' published ImageNet top-1, null for custom phi",
      args.runtime === 'edge'
        ? 'edge: inference only (POST /_debug/run, fixed input), timed from outside workerd; fits = ORT WASM heap <= 128 MB'
        : 'origin: onnxruntime-node default threads; p50/p95 at batch 1, img_s at best_batch of 1/2/4/8',
      `warm runs: up to ${args.runs} per variant, fewer once ${args.budgetS} s were spent (warm_runs says how many)`,
    ],
    rows,
  };
  const out = args.out ?? path.join(PROFILES_DIR, `${args.runtime}.json`);
  await writeAtomically(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
  log(`[profile] wrote ${path.relative(process.cwd(), out)}`);
}

async function chart(argv: readonly string[]): Promise<void> {
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1] : CHART_FILE;
  if (!out || argv.some((a) => a.startsWith('--') && a !== '--out') || (outAt < 0 && argv.length > 0))
    throw new ProfileArgsError('chart takes only --out FILE');
  const profiles: Profile[] = [];
  for (const runtime of ['edge', 'origin']) {
    const text = await readFile(path.join(PROFILES_DIR, `${runtime}.json`), 'utf8').catch(() => null);
    if (text) profiles.push(JSON.parse(text) as Profile);
  }
  if (profiles.length === 0) throw new UnavailableError('no profiles/*.json yet: run the profile first');
  await writeAtomically(out, renderChart(profiles));
  process.stderr.write(`[profile] wrote ${path.relative(process.cwd(), out)}\n`);
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'chart') return chart(argv.slice(1));
  return profile(parseProfileArgs(argv));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ProfileArgsError) {
    process.stderr.write(`profile: ${error.message}\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (error instanceof UnavailableError) {
    process.stderr.write(`profile: not available here: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(
      `profile: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  }
});
