// Seeded random weights that keep activations at a sane scale through the whole network.
// Conv weights are uniform with variance 1/fan_in; each BatchNorm's running statistics are then set to the
// mean and variance the conv output is predicted to have (from the realised weights and the tracked
// moments of its input), so every BN normalises as if it had been calibrated. Untrained exports with
// default statistics instead shrink the logits towards 1e-14.

import { convWeightShape, type ConvSpec, type Naming, type NetworkSpec } from './spec.ts';
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

function uniform(seed: number, name: string, count: number, halfWidth: number, center = 0): Float32Array {
  const next = prng(hash(seed, name));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = center + (2 * next() - 1) * halfWidth;
  return out;
}

/** Mean and second moment of an activation, per element. */
interface Moments {
  readonly mean: number;
  readonly m2: number;
}

const silu = (z: number) => z / (1 + Math.exp(-z));

/** Moments of SiLU(z) for z ~ N(0, 1), by quadrature. */
const SILU_MOMENTS: Moments = (() => {
  let mean = 0;
  let m2 = 0;
  const step = 0.001;
  for (let z = -10; z <= 10; z += step) {
    const p = (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * step;
    mean += silu(z) * p;
    m2 += silu(z) ** 2 * p;
  }
  return { mean, m2 };
})();

/** The SE gate stays near sigmoid(0) = 0.5 because its convs are small and unbiased. */
const GATE = 0.5;

class RandomCheckpoint {
  readonly tensors = new Map<string, TensorEntry>();

  constructor(
    private readonly seed: number,
    private readonly naming: Naming,
  ) {}

  put(name: string, shape: readonly number[], data: Float32Array): void {
    // Handing out the array itself: the folding step owns it afterwards.
    this.tensors.set(name, { shape, toFloat32: () => data });
  }

  /** Conv (+ BN calibrated to its predicted output); returns the moments after its activation. */
  conv(c: ConvSpec, input: Moments, gain = 1): Moments {
    const module = c.module[this.naming];
    // Streams are keyed by the timm name so the values do not depend on the naming asked for.
    const key = c.module.timm;
    const fanIn = (c.inChannels / c.groups) * c.kernel * c.kernel;
    const shape = convWeightShape(c);
    // Uniform(-a, a) has variance a^2 / 3: a = sqrt(3 / fan_in) gives variance 1 / fan_in.
    const weight = uniform(this.seed, `${key}.weight`, fanIn * c.outChannels, gain * Math.sqrt(3 / fanIn));
    this.put(`${module}.weight`, shape, weight);
    const n = c.outChannels;
    if (!c.bn) {
      this.put(`${module}.bias`, [n], new Float32Array(n));
      return input; // SE convs: the caller tracks the gate
    }
    const bn = c.bn[this.naming];
    const bnKey = c.bn.timm;
    const variance = input.m2 - input.mean ** 2;
    const mean = new Float32Array(n);
    const runVar = new Float32Array(n);
    for (let o = 0; o < n; o++) {
      let sum = 0;
      let sumSq = 0;
      for (let i = o * fanIn; i < (o + 1) * fanIn; i++) {
        const w = weight[i] ?? 0;
        sum += w;
        sumSq += w * w;
      }
      mean[o] = input.mean * sum;
      runVar[o] = Math.max(variance * sumSq, 1e-6);
    }
    // Mild per-channel spread so folding is exercised with non-trivial affine parameters.
    this.put(`${bn}.weight`, [n], uniform(this.seed, `${bnKey}.weight`, n, 0.2, 1));
    this.put(`${bn}.bias`, [n], uniform(this.seed, `${bnKey}.bias`, n, 0.1));
    this.put(`${bn}.running_mean`, [n], mean);
    this.put(`${bn}.running_var`, [n], runVar);
    return c.activation === 'silu' ? SILU_MOMENTS : { mean: 0, m2: 1 };
  }
}

/** A complete random checkpoint for `spec`, in the given naming, reproducible from `seed`. */
export function randomCheckpoint(spec: NetworkSpec, seed: number, naming: Naming = 'timm'): TensorMap {
  const ckpt = new RandomCheckpoint(seed, naming);
  let x = ckpt.conv(spec.stem, { mean: 0, m2: 1 }); // normalised image pixels
  for (const b of spec.blocks) {
    let h = b.expand ? ckpt.conv(b.expand, x) : x;
    h = ckpt.conv(b.depthwise, h);
    ckpt.conv(b.seReduce, h);
    ckpt.conv(b.seExpand, h, 0.5);
    h = { mean: h.mean * GATE, m2: h.m2 * GATE * GATE };
    const y = ckpt.conv(b.project, h);
    x = b.residual ? { mean: x.mean + y.mean, m2: x.m2 + y.m2 } : y;
  }
  const features = ckpt.conv(spec.head, x);
  // After global pooling the features are close to the per-channel means, so size the classifier on those.
  const { module, inFeatures, outFeatures } = spec.classifier;
  const pooledM2 = Math.max(features.mean ** 2, 1e-3);
  const halfWidth = Math.sqrt(3 / (inFeatures * pooledM2));
  const name = module[naming];
  ckpt.put(`${name}.weight`, [outFeatures, inFeatures], uniform(seed, 'classifier.weight', outFeatures * inFeatures, halfWidth));
  ckpt.put(`${name}.bias`, [outFeatures], uniform(seed, 'classifier.bias', outFeatures, 0.1));
  return ckpt.tensors;
}

/** Exposed for tests: the expected moments after BN + SiLU. */
export const RANDOM_INIT_FACTS = { siluMoments: SILU_MOMENTS, gate: GATE } as const;
