// Parameter and MAC counts for B0-B7, from the built graphs' structure (no weight data generated).

import { variantConfig } from '../../shared/efficientnet/config.ts';
import { countModel } from '../../shared/efficientnet/export.ts';
import { VARIANTS, type Variant } from '../../shared/efficientnet/variants.ts';

export interface VariantStats {
  readonly variant: Variant;
  readonly resolution: number;
  /** Stored weights + biases after BatchNorm folding. */
  readonly params: number;
  /** The same network counted as PyTorch does (BN weight and bias instead of a folded bias). */
  readonly paramsUnfolded: number;
  /** Multiply-accumulates of Conv and Gemm at native resolution, batch 1. */
  readonly macs: number;
}

export function variantStats(): VariantStats[] {
  return VARIANTS.map((variant) => {
    const config = variantConfig(variant);
    const { params, macs, bnChannels } = countModel(config);
    return { variant, resolution: config.resolution, params, paramsUnfolded: params + bnChannels, macs };
  });
}

export function formatStatsTable(rows: readonly VariantStats[]): string {
  const lines = ['variant  res  params(folded)  params(torch)  GMACs'];
  for (const r of rows) {
    lines.push(
      `${r.variant.padEnd(7)} ${String(r.resolution).padStart(4)}  ${(r.params / 1e6).toFixed(3).padStart(13)}M ${(r.paramsUnfolded / 1e6).toFixed(3).padStart(13)}M  ${(r.macs / 1e9).toFixed(3).padStart(6)}`,
    );
  }
  return lines.join('\n');
}
