// The published EfficientNet family. B1-B7 use a fixed table of coefficients (not exactly
// alpha^phi, beta^phi, gamma^phi for whole phi), so the table is data and the formula is only for custom phi.

export const VARIANTS = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface ScalingCoefficients {
  /** Channel multiplier. */
  readonly width: number;
  /** Repeat multiplier. */
  readonly depth: number;
  /** Native input resolution in pixels (square). */
  readonly resolution: number;
}

export const PUBLISHED_SCALING: Readonly<Record<Variant, ScalingCoefficients>> = {
  b0: { width: 1.0, depth: 1.0, resolution: 224 },
  b1: { width: 1.0, depth: 1.1, resolution: 240 },
  b2: { width: 1.1, depth: 1.2, resolution: 260 },
  b3: { width: 1.2, depth: 1.4, resolution: 300 },
  b4: { width: 1.4, depth: 1.8, resolution: 380 },
  b5: { width: 1.6, depth: 2.2, resolution: 456 },
  b6: { width: 1.8, depth: 2.6, resolution: 528 },
  b7: { width: 2.0, depth: 3.1, resolution: 600 },
};

/** Compound-scaling constants from the paper's grid search on B0. */
export const COMPOUND = { alpha: 1.2, beta: 1.1, gamma: 1.15 } as const;

export function isVariant(value: string): value is Variant {
  return (VARIANTS as readonly string[]).includes(value);
}
