// Command line of `npm run profile`. Every mistake is a ProfileArgsError (exit 2), as is asking for a
// runtime or provider this machine does not have (availability.ts).
import { phiConfig } from '../../shared/efficientnet/config.ts';
import { isVariant, VARIANTS } from '../../shared/efficientnet/variants.ts';

export type Runtime = 'edge' | 'origin';
export type Provider = 'cpu' | 'cuda';

export interface ProfileArgs {
  json: boolean;
  runtime: Runtime;
  provider: Provider;
  /** b0..b7, or phi<x> for a custom compound coefficient (e.g. phi0.5). */
  variants: string[];
  /** Warm runs per variant (fewer when a variant's time budget runs out). */
  runs: number;
  /** Seconds of warm runs allowed per variant and batch size before stopping early. */
  budgetS: number;
  /** Where the profile is written; default profiles/<runtime>.json. */
  out?: string;
}

export class ProfileArgsError extends Error {
  override name = 'ProfileArgsError';
}

export const USAGE = `usage: npm run profile -- [--json] [--runtime edge|origin] [--provider cpu|cuda]
                        [--variants b0,b1,phi0.5,...] [--runs N] [--budget-s S] [--out FILE]
       npm run profile -- chart [--out FILE]   (SVG from profiles/*.json)`;

/** B5-B7 take minutes to build and seconds per run here, and do not fit a Worker: the edge default stops at B4. */
export const DEFAULT_VARIANTS: Readonly<Record<Runtime, readonly string[]>> = {
  edge: ['b0', 'b1', 'b2', 'b3', 'b4'],
  origin: VARIANTS,
};

const VALUE_FLAGS = new Set(['runtime', 'provider', 'variants', 'runs', 'budget-s', 'out']);

export function isVariantToken(token: string): boolean {
  if (isVariant(token)) return true;
  const phi = /^phi(-?\d+(\.\d+)?)$/.exec(token);
  if (!phi) return false;
  try {
    phiConfig(Number(phi[1]));
    return true;
  } catch {
    return false;
  }
}

export function parseProfileArgs(argv: readonly string[]): ProfileArgs {
  const values = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ProfileArgsError(`unexpected argument ${JSON.stringify(arg)}`);
    const [name = '', inline] = arg.slice(2).split('=', 2);
    if (!VALUE_FLAGS.has(name)) throw new ProfileArgsError(`unknown option --${name}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('--'))
      throw new ProfileArgsError(`--${name} needs a value`);
    values.set(name, value);
  }
  const runtime = values.get('runtime') ?? 'origin';
  if (runtime !== 'edge' && runtime !== 'origin')
    throw new ProfileArgsError(`--runtime must be edge or origin, got ${JSON.stringify(runtime)}`);
  const provider = values.get('provider') ?? 'cpu';
  if (provider !== 'cpu' && provider !== 'cuda')
    throw new ProfileArgsError(`--provider must be cpu or cuda, got ${JSON.stringify(provider)}`);
  const variants = values.has('variants')
    ? (values.get('variants') as string).split(',').map((v) => v.trim().toLowerCase())
    : [...DEFAULT_VARIANTS[runtime]];
  const bad = variants.filter((v) => !isVariantToken(v));
  if (bad.length > 0 || variants.length === 0)
    throw new ProfileArgsError(
      `--variants takes b0..b7 or phi<x> with x in [-4, 12], comma-separated; got ${JSON.stringify(bad.join(','))}`,
    );
  const runs = positiveInt(values.get('runs') ?? '10', 'runs', 1000);
  const budgetS = positiveInt(values.get('budget-s') ?? '20', 'budget-s', 3600);
  const out = values.get('out');
  return {
    json,
    runtime,
    provider,
    variants: [...new Set(variants)],
    runs,
    budgetS,
    ...(out ? { out } : {}),
  };
}

function positiveInt(text: string, name: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new ProfileArgsError(`--${name} must be an integer in [1, ${max}], got ${JSON.stringify(text)}`);
  return n;
}
