// Folds each BatchNorm into the convolution before it, so the graph holds only Conv weight + bias.

import type { ConvSpec, Naming, NetworkSpec } from './spec.ts';
import { convsInOrder, convWeightShape } from './spec.ts';
import { type TensorMap, takeTensor } from './tensors.ts';

export interface FoldedConv {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

export interface FoldedWeights {
  /** Keyed by the conv's timm module path. */
  readonly convs: ReadonlyMap<string, FoldedConv>;
  readonly classifier: FoldedConv;
}

function foldConv(conv: ConvSpec, tensors: TensorMap, naming: Naming, eps: number): FoldedConv {
  const module = conv.module[naming];
  const weight = takeTensor(tensors, `${module}.weight`, convWeightShape(conv));
  const c = [conv.outChannels];
  if (!conv.bn) return { weight, bias: takeTensor(tensors, `${module}.bias`, c) };
  const bn = conv.bn[naming];
  const gamma = takeTensor(tensors, `${bn}.weight`, c);
  const beta = takeTensor(tensors, `${bn}.bias`, c);
  const mean = takeTensor(tensors, `${bn}.running_mean`, c);
  const variance = takeTensor(tensors, `${bn}.running_var`, c);
  const perOut = weight.length / conv.outChannels;
  const bias = new Float32Array(conv.outChannels);
  for (let o = 0; o < conv.outChannels; o++) {
    // Double precision for the scale; the weights are scaled in place (the caller owns them).
    const scale = (gamma[o] ?? 0) / Math.sqrt((variance[o] ?? 0) + eps);
    for (let i = o * perOut; i < (o + 1) * perOut; i++) weight[i] = (weight[i] ?? 0) * scale;
    bias[o] = (beta[o] ?? 0) - (mean[o] ?? 0) * scale;
  }
  return { weight, bias };
}

export function foldWeights(spec: NetworkSpec, tensors: TensorMap, naming: Naming): FoldedWeights {
  const convs = new Map<string, FoldedConv>();
  for (const conv of convsInOrder(spec)) {
    convs.set(conv.module.timm, foldConv(conv, tensors, naming, spec.config.bnEps));
  }
  const { module, inFeatures, outFeatures } = spec.classifier;
  const classifier = {
    weight: takeTensor(tensors, `${module[naming]}.weight`, [outFeatures, inFeatures]),
    bias: takeTensor(tensors, `${module[naming]}.bias`, [outFeatures]),
  };
  return { convs, classifier };
}

/** Guesses the naming scheme from the stem's tensor name. */
export function detectNaming(tensors: TensorMap): Naming | null {
  if (tensors.has('conv_stem.weight')) return 'timm';
  if (tensors.has('features.0.0.weight')) return 'torchvision';
  return null;
}
