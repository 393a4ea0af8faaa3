import { describe, expect, it } from 'vitest';
import { variantStats } from '../../infra/models/stats.ts';
import { makeDivisible, phiConfig, variantConfig } from '../../shared/efficientnet/config.ts';
import { axisPadding, buildSpec } from '../../shared/efficientnet/spec.ts';

// Paper (Tan & Le 2019, Table 2) parameter counts and torchvision's exact counts / MACs.
const PAPER_PARAMS = [5.3e6, 7.8e6, 9.2e6, 12e6, 19e6, 30e6, 43e6, 66e6];
const TORCHVISION_PARAMS = [5.289e6, 7.794e6, 9.11e6, 12.233e6, 19.342e6, 30.39e6, 43.041e6, 66.348e6];
const TORCHVISION_MACS = [0.386e9, 0.687e9, 0.994e9, 1.827e9, 4.394e9, 10.266e9, 19.068e9, 37.746e9];

describe('EfficientNet B0-B7 counts from the built graphs', () => {
  const rows = variantStats();

  it('covers b0..b7 at native resolution', () => {
    expect(rows.map((r) => `${r.variant}@${r.resolution}`)).toEqual([
      'b0@224',
      'b1@240',
      'b2@260',
      'b3@300',
      'b4@380',
      'b5@456',
      'b6@528',
      'b7@600',
    ]);
  });

  it('folded params within 3% of the paper', () => {
    rows.forEach((r, i) => {
      expect(Math.abs(r.params / (PAPER_PARAMS[i] as number) - 1)).toBeLessThan(0.03);
    });
  });

  it('unfolded params within 0.05% of torchvision (counts quoted to 1e3)', () => {
    rows.forEach((r, i) => {
      expect(Math.abs(r.paramsUnfolded / (TORCHVISION_PARAMS[i] as number) - 1)).toBeLessThan(5e-4);
    });
  });

  it('MACs within 0.5% of torchvision (quoted to 1e6)', () => {
    rows.forEach((r, i) => {
      expect(Math.abs(r.macs / (TORCHVISION_MACS[i] as number) - 1)).toBeLessThan(0.005);
    });
  });
});

describe('scaling rules', () => {
  it('make_divisible rounds to the nearest multiple of 8, never below 90%', () => {
    expect(makeDivisible(32 * 1.1)).toBe(32); // 35.2 -> 32 (>= 90% of 35.2)
    expect(makeDivisible(40 * 1.1)).toBe(48); // 44 -> 48 (ties round up)
    expect(makeDivisible(16 * 1.4)).toBe(24); // 22.4 -> 24
    expect(makeDivisible(3)).toBe(8);
    expect(makeDivisible(100 * 0.96)).toBe(96);
    expect(makeDivisible(76)).toBe(80); // 76 -> 80 (ties up)
    expect(makeDivisible(83.9)).toBe(80); // 80 >= 0.9 * 83.9
  });

  it('B0 has the published stage layout and B7 the scaled one', () => {
    const b0 = buildSpec(variantConfig('b0'));
    expect(b0.stem.outChannels).toBe(32);
    expect(b0.blocks.length).toBe(16);
    expect(b0.head.outChannels).toBe(1280);
    const first = b0.blocks[0];
    expect(first?.expand).toBeNull();
    expect(first?.seReduce.outChannels).toBe(8); // floor(32 / 4)
    const b7 = buildSpec(variantConfig('b7'));
    expect(b7.blocks.length).toBe(55);
    expect(b7.head.outChannels).toBe(2560);
    expect(b7.stem.outChannels).toBe(64);
    expect(b7.blocks.filter((b) => b.residual).length).toBe(55 - 7);
  });

  it('tf_same pads asymmetrically, symmetric pads (k-1)/2', () => {
    const tf = { ...variantConfig('b0'), padding: 'tf_same' as const };
    expect(axisPadding(tf, 224, 3, 2)).toEqual({ before: 0, after: 1, out: 112 });
    expect(axisPadding(tf, 113, 5, 2)).toEqual({ before: 2, after: 2, out: 57 });
    expect(axisPadding(tf, 28, 5, 2)).toEqual({ before: 1, after: 2, out: 14 });
    expect(axisPadding(variantConfig('b0'), 224, 3, 2)).toEqual({ before: 1, after: 1, out: 112 });
    const spec = buildSpec({ ...variantConfig('b3', { source: 'tf' }) });
    expect(spec.stem.pads).toEqual([0, 0, 1, 1]);
    expect(spec.config.bnEps).toBe(1e-3);
  });

  it('custom phi follows alpha^phi, beta^phi and 224 * gamma^phi rounded to 8', () => {
    const c = phiConfig(2);
    expect(c.width).toBeCloseTo(1.21, 10);
    expect(c.depth).toBeCloseTo(1.44, 10);
    expect(c.resolution).toBe(296); // 224 * 1.3225 = 296.24
    expect(() => buildSpec({ ...c, resolution: 7 })).toThrow(/resolution/);
  });

  it('torchvision eps is 1e-3 for b5-b7 only', () => {
    expect(variantConfig('b4', { source: 'torchvision' }).bnEps).toBe(1e-5);
    expect(variantConfig('b5', { source: 'torchvision' }).bnEps).toBe(1e-3);
    expect(variantConfig('b5', { source: 'timm' }).bnEps).toBe(1e-5);
  });
});
