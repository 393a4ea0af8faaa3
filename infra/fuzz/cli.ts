// `npm run fuzz -- --json [--n N] [--seed S] [--case I[,J...]] [--save FILE] [--models DIR] [--timeout-ms T]`
//
// Sends N seeded, structure-aware mutations of small JPEG, PNG and WebP images through the real edge in
// workerd (POST /v1/classify?tier=fast) and prints one JSON report (docs/fuzzing.md). --case reruns single
// cases of a seeded run; --save writes the bytes of the first of them to FILE.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureModels } from '../dev/ensure-models.ts';
import { REPO_ROOT } from '../models/build.ts';
import { makeBases } from './bases.ts';
import { runCampaign } from './campaign.ts';
import { makeCase } from './cases.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const JSON_ONLY = args.includes('--json');
const log = (line: string) => {
  if (!JSON_ONLY) console.error(`[fuzz] ${line}`);
};

function integer(name: string, fallback: number): number {
  const raw = flag(name);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

/** B0 from --models, else the one `npm start` built, else an untrained B0 built once (weights don't matter here). */
async function modelsDir(): Promise<string> {
  const given = flag('--models') ?? process.env.FUZZ_MODELS_DIR;
  if (given) return path.resolve(given);
  const started = path.join(REPO_ROOT, 'models');
  if (existsSync(path.join(started, 'efficientnet-b0', 'model.json'))) return started;
  const own = path.join(REPO_ROOT, 'models', '.fuzz');
  await ensureModels(own, [{ id: 'efficientnet-b0', split: true }], 'random', (line) =>
    console.error(`[fuzz] ${line}`),
  );
  return own;
}

async function main(): Promise<void> {
  const n = integer('--n', 1000);
  const seed = integer('--seed', 1);
  const only = flag('--case')
    ?.split(',')
    .map((s) => Number(s));
  if (only?.some((i) => !Number.isSafeInteger(i) || i < 0)) {
    console.error('--case takes case indices, e.g. --case 17 or --case 3,17');
    process.exit(2);
  }
  const save = flag('--save');
  if (save && only?.[0] !== undefined) {
    const c = makeCase(await makeBases(), seed, only[0]);
    await writeFile(save, c.bytes);
    log(
      `case ${c.index}: ${c.base} ${c.mutation} (${c.detail}), sent as ${c.form} ${String(c.contentType)}, saved to ${save}`,
    );
  }
  const { report, edge } = await runCampaign({
    cases: n,
    seed,
    ...(only ? { only } : {}),
    modelsDir: await modelsDir(),
    timeoutMs: integer('--timeout-ms', 20_000),
    progress: (done, total) => {
      if (done % 100 === 0 || done === total) log(`${done}/${total}`);
    },
  });
  await edge.dispose();
  console.log(JSON.stringify(report, null, JSON_ONLY ? 0 : 2));
}

main().catch((error: Error) => {
  console.error(`[fuzz] ${error.stack ?? error.message}`);
  process.exit(1);
});
