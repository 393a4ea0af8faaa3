// A small, plain reference forward pass (NCHW float32) used to calibrate random BatchNorm statistics.
// It is deliberately simple: calibration runs at a reduced resolution, so speed matters little.

import type { EfficientNetConfig } from './config.ts';
import { axisPadding } from './spec.ts';

export interface Activation {
  readonly n: number;
  readonly c: number;
  readonly size: number;
  readonly data: Float32Array;
}

export interface ConvGeometry {
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly groups: number;
}

/**
 * Conv without bias. Padding follows the config's rule for this input size, or is periodic (the image
 * wraps around) so that a small calibration image has no borders and behaves like the interior of a
 * large one.
 */
export function conv2d(
  config: EfficientNetConfig,
  x: Activation,
  g: ConvGeometry,
  weight: Float32Array,
  periodic = false,
): Activation {
  const { kernel: k, stride, groups, outChannels } = g;
  const p = periodic
    ? { before: Math.floor((k - 1) / 2), out: Math.ceil(x.size / stride) }
    : axisPadding(config, x.size, k, stride);
  const outSize = p.out;
  const inPer = x.c / groups;
  const outPer = outChannels / groups;
  const hw = x.size * x.size;
  const ohw = outSize * outSize;
  const out = new Float32Array(x.n * outChannels * ohw);
  const pointwise = k === 1 && stride === 1 && groups === 1;
  // Input index for (tap, output position) along one axis; -1 where it falls in zero padding.
  const rows = new Int32Array(k * outSize);
  for (let t = 0; t < k; t++) {
    for (let o = 0; o < outSize; o++) {
      const i = o * stride + t - p.before;
      rows[t * outSize + o] = periodic ? ((i % x.size) + x.size) % x.size : i >= 0 && i < x.size ? i : -1;
    }
  }
  for (let n = 0; n < x.n; n++) {
    for (let o = 0; o < outChannels; o++) {
      const dst = (n * outChannels + o) * ohw;
      const grp = Math.floor(o / outPer);
      for (let ci = 0; ci < inPer; ci++) {
        const src = (n * x.c + grp * inPer + ci) * hw;
        const wBase = (o * inPer + ci) * k * k;
        if (pointwise) {
          const w = weight[wBase] ?? 0;
          for (let i = 0; i < hw; i++) out[dst + i] = (out[dst + i] ?? 0) + w * (x.data[src + i] ?? 0);
          continue;
        }
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const w = weight[wBase + ky * k + kx] ?? 0;
            for (let oy = 0; oy < outSize; oy++) {
              const iy = rows[ky * outSize + oy] ?? -1;
              if (iy < 0) continue;
              const srcRow = src + iy * x.size;
              const dstRow = dst + oy * outSize;
              for (let ox = 0; ox < outSize; ox++) {
                const ix = rows[kx * outSize + ox] ?? -1;
                if (ix >= 0) out[dstRow + ox] = (out[dstRow + ox] ?? 0) + w * (x.data[srcRow + ix] ?? 0);
              }
            }
          }
        }
      }
    }
  }
  return { n: x.n, c: outChannels, size: outSize, data: out };
}

/** Per-channel mean and (biased) variance over batch and space. */
export function channelStats(x: Activation): { mean: Float64Array; variance: Float64Array } {
  const hw = x.size * x.size;
  const mean = new Float64Array(x.c);
  const variance = new Float64Array(x.c);
  const count = x.n * hw;
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    let s2 = 0;
    for (let n = 0; n < x.n; n++) {
      const base = (n * x.c + c) * hw;
      for (let i = 0; i < hw; i++) {
        const v = x.data[base + i] ?? 0;
        s += v;
        s2 += v * v;
      }
    }
    mean[c] = s / count;
    variance[c] = Math.max(s2 / count - (s / count) ** 2, 0);
  }
  return { mean, variance };
}

/** y = act(scale[c] * x + shift[c]), in place. */
export function affine(
  x: Activation,
  scale: ArrayLike<number>,
  shift: ArrayLike<number>,
  silu: boolean,
): Activation {
  const hw = x.size * x.size;
  for (let n = 0; n < x.n; n++) {
    for (let c = 0; c < x.c; c++) {
      const a = scale[c] ?? 1;
      const b = shift[c] ?? 0;
      const base = (n * x.c + c) * hw;
      for (let i = base; i < base + hw; i++) {
        const v = a * (x.data[i] ?? 0) + b;
        x.data[i] = silu ? v / (1 + Math.exp(-v)) : v;
      }
    }
  }
  return x;
}

export function globalPool(x: Activation): Activation {
  const hw = x.size * x.size;
  const out = new Float32Array(x.n * x.c);
  for (let i = 0; i < x.n * x.c; i++) {
    let s = 0;
    for (let j = i * hw; j < (i + 1) * hw; j++) s += x.data[j] ?? 0;
    out[i] = s / hw;
  }
  return { n: x.n, c: x.c, size: 1, data: out };
}

/** x[n, c, :, :] *= gate[n, c], in place. */
export function scaleChannels(x: Activation, gate: Activation): Activation {
  const hw = x.size * x.size;
  for (let i = 0; i < x.n * x.c; i++) {
    const g = gate.data[i] ?? 0;
    for (let j = i * hw; j < (i + 1) * hw; j++) x.data[j] = (x.data[j] ?? 0) * g;
  }
  return x;
}

export function add(a: Activation, b: Activation): Activation {
  const data = new Float32Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (a.data[i] ?? 0) + (b.data[i] ?? 0);
  return { ...a, data };
}
