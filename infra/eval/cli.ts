import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EvalInputError, type EvalModel, loadCatalog, pickModel } from './catalog.ts';
import { type EvalReport, evaluate } from './evaluate.ts';
import { renderPlot } from './plot.ts';

// npm run eval -- --data DIR --catalog FILE|DIR [--catalog ...] --edge NAME --origin NAME
//                 [--thresholds 0,0.1,...] [--limit N] [--threads N] [--out DIR] [--json]

export const DEFAULT_THRESHOLDS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

const USAGE =
  'usage: npm run eval -- --data DIR --catalog FILE|DIR --edge MODEL --origin MODEL ' +
  '[--thresholds 0,0.1,...] [--limit N] [--threads N] [--out DIR] [--json]';

export function parseThresholds(text: string): number[] {
  const values = text.split(',').map((s) => s.trim());
  const numbers = values.map(Number);
  if (values.some((s) => s === '') || numbers.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new EvalInputError(`--thresholds must be comma-separated non-negative numbers, got "${text}"`);
  }
  return [...new Set(numbers)].sort((a, b) => a - b);
}

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new EvalInputError(`--${name} must be a positive integer, got "${text}"`);
  return n;
}

function table(report: EvalReport): string {
  const mmacs = (n: number) => `${(n / 1e6).toFixed(1)}M`;
  const pct = (n: number) => n.toFixed(2);
  const lines = [
    `${report.data.images} images from ${report.data.dir}`,
    `edge   ${report.edge.name}: top-1 ${pct(report.edge.top1)} top-5 ${pct(report.edge.top5)} ${mmacs(report.edge.macs)} MACs`,
    `origin ${report.origin.name}: top-1 ${pct(report.origin.top1)} top-5 ${pct(report.origin.top5)} ${mmacs(report.origin.macs)} MACs`,
    'threshold  top-1  top-5  escalated  avg MACs',
    ...report.cascade.map(
      (p) =>
        `${String(p.threshold).padEnd(9)}  ${pct(p.top1)}   ${pct(p.top5)}   ${pct(p.escalationRate).padStart(7)}  ${mmacs(p.avgMacs).padStart(8)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** Writes both files under temporary names first, so a failure leaves neither behind. */
function writeOutputs(dir: string, json: string, svg: string): void {
  mkdirSync(dir, { recursive: true });
  const files = [
    { name: 'eval.json', text: json },
    { name: 'eval.svg', text: svg },
  ];
  const temps = files.map((f) => join(dir, `.${f.name}.${process.pid}.tmp`));
  try {
    for (const [i, f] of files.entries()) writeFileSync(temps[i] as string, f.text);
    for (const [i, f] of files.entries()) renameSync(temps[i] as string, join(dir, f.name));
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' },
      catalog: { type: 'string', multiple: true },
      edge: { type: 'string' },
      origin: { type: 'string' },
      thresholds: { type: 'string' },
      limit: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const args = parse(argv);
    const { data, catalog, edge, origin } = args.values;
    if (!data || !catalog?.length || !edge || !origin) throw new EvalInputError(USAGE);
    const models: EvalModel[] = catalog.flatMap(loadCatalog);
    const limit = positiveInt('limit', args.values.limit);
    const threads = positiveInt('threads', args.values.threads);
    const report = await evaluate({
      dataDir: data,
      edge: pickModel(models, edge),
      origin: pickModel(models, origin),
      thresholds: args.values.thresholds ? parseThresholds(args.values.thresholds) : DEFAULT_THRESHOLDS,
      ...(limit !== undefined ? { limit } : {}),
      ...(threads !== undefined ? { threads } : {}),
    });
    const json = `${JSON.stringify(report, null, 2)}\n`;
    if (args.values.out) writeOutputs(args.values.out, json, renderPlot(report));
    process.stdout.write(args.values.json ? json : table(report));
    return 0;
  } catch (e) {
    const known = e instanceof EvalInputError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`eval: ${(e as Error).message}\n`);
    return known ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
