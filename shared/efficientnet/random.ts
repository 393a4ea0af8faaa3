// Seeded random weights whose activations keep a sane scale through the whole network.
// Conv weights are uniform with variance 1/fan_in. Each BatchNorm's statistics are then measured by running
// the network once, layer by layer, on a seeded noise batch (a BN re-estimation pass): running_var is the
// measured second moment of the conv output and running_mean is 0. Why these choices (all measured on B0):
// - default statistics (mean 0, var 1) shrink untrained logits towards 1e-14;
// - closed-form (open-loop) variance predictions drifted by 1.2-1.9x per block: logits std in the thousands;
// - centred statistics make every layer amplify any input-scale mismatch (x125 in variance by the head);
// - small calibration images are dominated by zero-padding borders, so calibration pads periodically
//   (the image wraps around, like the interior of a large image) at up to 128 px.

import { type Activation, add, affine, channelStats, conv2d, globalPool, scaleChannels } from './forward.ts';
import { type ConvSpec, convWeightShape, type Naming, type NetworkSpec } from './spec.ts';
import type { TensorEntry, TensorMap } from './tensors.ts';

/** 32-bit FNV-1a, to derive an independent stream per tensor from (seed, name). */
function hash(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: small, fast, good enough for weight initialisation; returns uniform [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(seed: number, key: string, count: number, halfWidth: number, center = 0): Float32Array {
  const next = prng(hash(seed, key));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = center + (2 * next() - 1) * halfWidth;
  return out;
}

export interface CalibrationOptions {
  /** Side of the noise images (default: min(resolution, 128)). */
  readonly resolution?: number;
  readonly batch?: number;
}

class RandomCheckpoint {
  readonly tensors = new Map<string, TensorEntry>();

  constructor(
    private readonly spec: NetworkSpec,
    private readonly seed: number,
    private readonly naming: Naming,
  ) {}

  put(name: string, shape: readonly number[], data: Float32Array): void {
    // The array itself is handed out: the folding step owns it afterwards.
    this.tensors.set(name, { shape, toFloat32: () => data });
  }

  /** Creates the conv's tensors and applies conv (+ calibrated BN or bias) and its activation to x. */
  conv(c: ConvSpec, x: Activation): Activation {
    const module = c.module[this.naming];
    // Streams are keyed by the timm name so the values do not depend on the naming asked for.
    const key = c.module.timm;
    const fanIn = (c.inChannels / c.groups) * c.kernel * c.kernel;
    // Uniform(-a, a) has variance a^2 / 3: a = sqrt(3 / fan_in) gives variance 1 / fan_in.
    const weight = uniform(this.seed, `${key}.weight`, fanIn * c.outChannels, Math.sqrt(3 / fanIn));
    this.put(`${module}.weight`, convWeightShape(c), weight);
    const y = conv2d(this.spec.config, x, c, weight, true);
    const n = c.outChannels;
    const silu = c.activation === 'silu';
    if (!c.bn) {
      const bias = uniform(this.seed, `${key}.bias`, n, 0.1);
      this.put(`${module}.bias`, [n], bias);
      return affine(y, new Float32Array(n).fill(1), bias, silu);
    }
    const bn = c.bn[this.naming];
    const { mean, variance } = channelStats(y);
    // Second moment, not centred variance, and running mean 0 (see the file comment).
    const runVar = Float32Array.from(variance, (v, o) => Math.max(v + (mean[o] ?? 0) ** 2, 1e-4));
    const zeroMean = new Float32Array(n);
    // Mild per-channel spread so folding is exercised with non-trivial affine parameters.
    const gamma = uniform(this.seed, `${c.bn.timm}.weight`, n, 0.2, 1);
    const beta = uniform(this.seed, `${c.bn.timm}.bias`, n, 0.1);
    this.put(`${bn}.weight`, [n], gamma);
    this.put(`${bn}.bias`, [n], beta);
    this.put(`${bn}.running_mean`, [n], zeroMean);
    this.put(`${bn}.running_var`, [n], runVar);
    const eps = this.spec.config.bnEps;
    const scale = Float64Array.from(gamma, (g, o) => g / Math.sqrt((runVar[o] ?? 1) + eps));
    const shift = beta;
    return affine(y, scale, shift, silu);
  }
}

function noiseBatch(seed: number, batch: number, size: number): Activation {
  // Uniform noise with unit variance, like normalised pixels.
  const data = uniform(seed, 'calibration.input', batch * 3 * size * size, Math.sqrt(3));
  return { n: batch, c: 3, size, data };
}

/** A complete random checkpoint for `spec`, in the given naming, reproducible from `seed`. */
export function randomCheckpoint(
  spec: NetworkSpec,
  seed: number,
  naming: Naming = 'timm',
  calibration: CalibrationOptions = {},
): TensorMap {
  const ckpt = new RandomCheckpoint(spec, seed, naming);
  const size = calibration.resolution ?? Math.min(spec.config.resolution, 128);
  let x = ckpt.conv(spec.stem, noiseBatch(seed, calibration.batch ?? 2, size));
  for (const b of spec.blocks) {
    let h = b.expand ? ckpt.conv(b.expand, x) : x;
    h = ckpt.conv(b.depthwise, h);
    const reduced = ckpt.conv(b.seReduce, globalPool(h));
    const logits = ckpt.conv(b.seExpand, reduced);
    const gate = affine(logits, new Float32Array(logits.c).fill(1), new Float32Array(logits.c), false);
    for (let i = 0; i < gate.data.length; i++) gate.data[i] = 1 / (1 + Math.exp(-(gate.data[i] ?? 0)));
    h = ckpt.conv(b.project, scaleChannels(h, gate));
    x = b.residual ? add(x, h) : h;
  }
  const pooled = globalPool(ckpt.conv(spec.head, x));
  // Size the classifier on the pooled features' second moment so logits come out with unit-order spread.
  let m2 = 0;
  for (const v of pooled.data) m2 += v * v;
  m2 = Math.max(m2 / pooled.data.length, 1e-6);
  const { module, inFeatures, outFeatures } = spec.classifier;
  const name = module[naming];
  const halfWidth = Math.sqrt(3 / (inFeatures * m2));
  ckpt.put(
    `${name}.weight`,
    [outFeatures, inFeatures],
    uniform(seed, 'classifier.weight', outFeatures * inFeatures, halfWidth),
  );
  ckpt.put(`${name}.bias`, [outFeatures], uniform(seed, 'classifier.bias', outFeatures, 0.1));
  return ckpt.tensors;
}
