// EfficientNet-B0 as published, scaled by a config into a concrete list of convolutions with their
// channel counts, spatial sizes and padding. Everything else (weights, graph, counts) is derived from this.

import { configProblem, type EfficientNetConfig, scaleChannels, scaleRepeats } from './config.ts';

/** Checkpoint naming schemes: timm's names are shared by timm efficientnet_bN and tf_efficientnet_bN. */
export type Naming = 'timm' | 'torchvision';

export interface StageSpec {
  readonly expand: number;
  readonly kernel: number;
  readonly stride: number;
  readonly channels: number;
  readonly repeats: number;
}

/** B0's MBConv stages (expand ratio, kernel, stride, output channels, repeats). */
export const B0_STAGES: readonly StageSpec[] = [
  { expand: 1, kernel: 3, stride: 1, channels: 16, repeats: 1 },
  { expand: 6, kernel: 3, stride: 2, channels: 24, repeats: 2 },
  { expand: 6, kernel: 5, stride: 2, channels: 40, repeats: 2 },
  { expand: 6, kernel: 3, stride: 2, channels: 80, repeats: 3 },
  { expand: 6, kernel: 5, stride: 1, channels: 112, repeats: 3 },
  { expand: 6, kernel: 5, stride: 2, channels: 192, repeats: 4 },
  { expand: 6, kernel: 3, stride: 1, channels: 320, repeats: 1 },
];
export const B0_STEM_CHANNELS = 32;
/** The head widens the last stage 4x (1280 for B0). */
export const HEAD_MULTIPLIER = 4;

export type Activation = 'silu' | 'none';

export interface ConvSpec {
  /** Module path per naming, e.g. timm "blocks.1.0.conv_pw", torchvision "features.2.0.block.0.0". */
  readonly module: Readonly<Record<Naming, string>>;
  /** BatchNorm module path per naming, or null when the conv has its own bias (SE convs). */
  readonly bn: Readonly<Record<Naming, string>> | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly groups: number;
  readonly inputSize: number;
  readonly outputSize: number;
  /** ONNX order: [top, left, bottom, right]. */
  readonly pads: readonly [number, number, number, number];
  readonly activation: Activation;
}

export interface BlockSpec {
  readonly stage: number;
  readonly index: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly expand: ConvSpec | null;
  readonly depthwise: ConvSpec;
  readonly seReduce: ConvSpec;
  readonly seExpand: ConvSpec;
  readonly project: ConvSpec;
  readonly residual: boolean;
}

export interface NetworkSpec {
  readonly config: EfficientNetConfig;
  readonly stem: ConvSpec;
  readonly blocks: readonly BlockSpec[];
  readonly head: ConvSpec;
  readonly classifier: {
    readonly module: Readonly<Record<Naming, string>>;
    readonly inFeatures: number;
    readonly outFeatures: number;
  };
}

/** Pads for one spatial axis: symmetric (PyTorch, (k-1)/2) or TensorFlow SAME (extra pixel after). */
export function axisPadding(config: EfficientNetConfig, size: number, kernel: number, stride: number) {
  if (config.padding === 'symmetric') {
    const p = Math.floor((kernel - 1) / 2);
    return { before: p, after: p, out: Math.floor((size + 2 * p - kernel) / stride) + 1 };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return { before, after: total - before, out };
}

interface ConvArgs {
  readonly module: Record<Naming, string>;
  readonly bn: Record<Naming, string> | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly groups: number;
  readonly inputSize: number;
  readonly activation: Activation;
}

function conv(config: EfficientNetConfig, a: ConvArgs): ConvSpec {
  const p = axisPadding(config, a.inputSize, a.kernel, a.stride);
  return { ...a, outputSize: p.out, pads: [p.before, p.before, p.after, p.after] };
}

function seConvs(config: EfficientNetConfig, timm: string, tv: string, channels: number, squeeze: number) {
  const common = { bn: null, kernel: 1, stride: 1, groups: 1, inputSize: 1 } as const;
  const reduce = conv(config, {
    ...common,
    module: { timm: `${timm}.se.conv_reduce`, torchvision: `${tv}.fc1` },
    inChannels: channels,
    outChannels: squeeze,
    activation: 'silu',
  });
  const expand = conv(config, {
    ...common,
    module: { timm: `${timm}.se.conv_expand`, torchvision: `${tv}.fc2` },
    inChannels: squeeze,
    outChannels: channels,
    activation: 'none', // the Sigmoid gate is applied by the graph builder
  });
  return { reduce, expand };
}

function block(
  config: EfficientNetConfig,
  stage: number,
  index: number,
  s: StageSpec,
  inChannels: number,
  outChannels: number,
  stride: number,
  size: number,
): BlockSpec {
  const t = `blocks.${stage}.${index}`;
  const v = `features.${stage + 1}.${index}.block`;
  const hasExpand = s.expand !== 1;
  const mid = inChannels * s.expand;
  // timm's depthwise-separable first stage and torchvision's index shift when there is no expansion.
  const tv = (i: number) => `${v}.${hasExpand ? i : i - 1}`;
  const expand = hasExpand
    ? conv(config, {
        module: { timm: `${t}.conv_pw`, torchvision: `${tv(0)}.0` },
        bn: { timm: `${t}.bn1`, torchvision: `${tv(0)}.1` },
        inChannels,
        outChannels: mid,
        kernel: 1,
        stride: 1,
        groups: 1,
        inputSize: size,
        activation: 'silu',
      })
    : null;
  const depthwise = conv(config, {
    module: { timm: `${t}.conv_dw`, torchvision: `${tv(1)}.0` },
    bn: { timm: hasExpand ? `${t}.bn2` : `${t}.bn1`, torchvision: `${tv(1)}.1` },
    inChannels: mid,
    outChannels: mid,
    kernel: s.kernel,
    stride,
    groups: mid,
    inputSize: size,
    activation: 'silu',
  });
  const squeeze = Math.max(1, Math.floor(inChannels / 4));
  const se = seConvs(config, t, tv(2), mid, squeeze);
  const project = conv(config, {
    module: { timm: hasExpand ? `${t}.conv_pwl` : `${t}.conv_pw`, torchvision: `${tv(3)}.0` },
    bn: { timm: hasExpand ? `${t}.bn3` : `${t}.bn2`, torchvision: `${tv(3)}.1` },
    inChannels: mid,
    outChannels,
    kernel: 1,
    stride: 1,
    groups: 1,
    inputSize: depthwise.outputSize,
    activation: 'none',
  });
  return {
    stage,
    index,
    inChannels,
    outChannels,
    expand,
    depthwise,
    seReduce: se.reduce,
    seExpand: se.expand,
    project,
    residual: stride === 1 && inChannels === outChannels,
  };
}

export function buildSpec(config: EfficientNetConfig): NetworkSpec {
  const problem = configProblem(config);
  if (problem) throw new RangeError(`invalid EfficientNet config: ${problem}`);
  const stemChannels = scaleChannels(B0_STEM_CHANNELS, config.width);
  const stem = conv(config, {
    module: { timm: 'conv_stem', torchvision: 'features.0.0' },
    bn: { timm: 'bn1', torchvision: 'features.0.1' },
    inChannels: 3,
    outChannels: stemChannels,
    kernel: 3,
    stride: 2,
    groups: 1,
    inputSize: config.resolution,
    activation: 'silu',
  });
  const blocks: BlockSpec[] = [];
  let channels = stemChannels;
  let size = stem.outputSize;
  B0_STAGES.forEach((s, stage) => {
    const out = scaleChannels(s.channels, config.width);
    const repeats = scaleRepeats(s.repeats, config.depth);
    for (let i = 0; i < repeats; i++) {
      const b = block(config, stage, i, s, channels, out, i === 0 ? s.stride : 1, size);
      blocks.push(b);
      channels = out;
      size = b.project.outputSize;
    }
  });
  const headIndex = B0_STAGES.length + 1;
  const headChannels = HEAD_MULTIPLIER * channels;
  const head = conv(config, {
    module: { timm: 'conv_head', torchvision: `features.${headIndex}.0` },
    bn: { timm: 'bn2', torchvision: `features.${headIndex}.1` },
    inChannels: channels,
    outChannels: headChannels,
    kernel: 1,
    stride: 1,
    groups: 1,
    inputSize: size,
    activation: 'silu',
  });
  return {
    config,
    stem,
    blocks,
    head,
    classifier: {
      module: { timm: 'classifier', torchvision: 'classifier.1' },
      inFeatures: headChannels,
      outFeatures: config.numClasses,
    },
  };
}

/** Every convolution in forward order (the SE convs follow their block's depthwise conv). */
export function convsInOrder(spec: NetworkSpec): ConvSpec[] {
  const out: ConvSpec[] = [spec.stem];
  for (const b of spec.blocks) {
    if (b.expand) out.push(b.expand);
    out.push(b.depthwise, b.seReduce, b.seExpand, b.project);
  }
  out.push(spec.head);
  return out;
}

export function convWeightShape(c: ConvSpec): number[] {
  return [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel];
}
