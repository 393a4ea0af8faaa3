// Scaling configuration: the published B0-B7 table, custom compound phi, or any explicit config.

import { COMPOUND, PUBLISHED_SCALING, type Variant } from './variants.ts';

export type Padding = 'symmetric' | 'tf_same';

/** Where weights come from decides padding and BatchNorm eps (see variantConfig). */
export type CheckpointSource = 'random' | 'timm' | 'tf' | 'torchvision';

export interface EfficientNetConfig {
  /** Channel multiplier. */
  readonly width: number;
  /** Repeat multiplier. */
  readonly depth: number;
  /** Square input side; fixed at export because tf_same pads depend on it. */
  readonly resolution: number;
  readonly numClasses: number;
  readonly bnEps: number;
  readonly padding: Padding;
}

export const DEFAULT_BN_EPS = 1e-5;
export const TF_BN_EPS = 1e-3;

/** torchvision/timm channel rounding: nearest multiple of `divisor`, never below 90% of the target. */
export function makeDivisible(value: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}

export function scaleChannels(channels: number, width: number): number {
  return makeDivisible(channels * width);
}

export function scaleRepeats(repeats: number, depth: number): number {
  // Same double arithmetic as torchvision's int(math.ceil(n * depth_mult)), so counts match exactly.
  return Math.ceil(repeats * depth);
}

export interface VariantOptions {
  readonly source?: CheckpointSource;
  readonly numClasses?: number;
}

/** BatchNorm eps the given weights were trained with. */
export function bnEpsFor(variant: Variant, source: CheckpointSource): number {
  if (source === 'tf') return TF_BN_EPS;
  // torchvision ported B5-B7 from TensorFlow and kept TF's eps.
  if (source === 'torchvision' && ['b5', 'b6', 'b7'].includes(variant)) return TF_BN_EPS;
  return DEFAULT_BN_EPS;
}

export function variantConfig(variant: Variant, options: VariantOptions = {}): EfficientNetConfig {
  const source = options.source ?? 'random';
  const { width, depth, resolution } = PUBLISHED_SCALING[variant];
  return {
    width,
    depth,
    resolution,
    numClasses: options.numClasses ?? 1000,
    bnEps: bnEpsFor(variant, source),
    padding: source === 'tf' ? 'tf_same' : 'symmetric',
  };
}

/**
 * Compound scaling for an arbitrary phi: width = beta^phi, depth = alpha^phi and resolution =
 * 224 * gamma^phi rounded to the nearest multiple of 8 (whole phi does not reproduce the published table).
 */
export function phiConfig(phi: number, numClasses = 1000): EfficientNetConfig {
  if (!Number.isFinite(phi) || phi < -4 || phi > 12)
    throw new RangeError(`phi must be in [-4, 12], got ${phi}`);
  return {
    width: COMPOUND.beta ** phi,
    depth: COMPOUND.alpha ** phi,
    resolution: Math.max(32, Math.round((224 * COMPOUND.gamma ** phi) / 8) * 8),
    numClasses,
    bnEps: DEFAULT_BN_EPS,
    padding: 'symmetric',
  };
}

/** Rejects configs that would produce an empty or absurd graph; returns a reason or null. */
export function configProblem(config: EfficientNetConfig): string | null {
  const { width, depth, resolution, numClasses, bnEps, padding } = config;
  if (!(width > 0 && width <= 8)) return `width must be in (0, 8], got ${width}`;
  if (!(depth > 0 && depth <= 8)) return `depth must be in (0, 8], got ${depth}`;
  if (!Number.isInteger(resolution) || resolution < 32 || resolution > 2048) {
    return `resolution must be an integer in [32, 2048], got ${resolution}`;
  }
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 100_000) {
    return `numClasses must be an integer in [1, 100000], got ${numClasses}`;
  }
  if (!(bnEps > 0 && bnEps < 1)) return `bnEps must be in (0, 1), got ${bnEps}`;
  if (padding !== 'symmetric' && padding !== 'tf_same') return `padding must be symmetric or tf_same`;
  return null;
}
