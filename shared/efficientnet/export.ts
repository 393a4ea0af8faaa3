// One call from (config, weights) to ONNX bytes. Runtime-neutral: callers do their own file I/O.

import { countGraph } from '../onnx/analyze.ts';
import { type EncodedModel, encodeModel, type OnnxModel } from '../onnx/model.ts';
import { concatChunks } from '../onnx/protobuf.ts';
import { VERSION } from '../version.ts';
import type { EfficientNetConfig } from './config.ts';
import { type FoldedWeights, foldWeights } from './fold.ts';
import { buildGraph } from './graph.ts';
import { randomCheckpoint } from './random.ts';
import { buildSpec, type Naming, type NetworkSpec } from './spec.ts';
import type { TensorMap } from './tensors.ts';

export const OPSET = 17;
export const IR_VERSION = 8;
export const PRODUCER = { name: 'edge-escalate-classifier', version: VERSION } as const;

export type WeightsInput =
  | { readonly kind: 'random'; readonly seed: number }
  | { readonly kind: 'checkpoint'; readonly tensors: TensorMap; readonly naming: Naming };

export interface ExportOptions {
  readonly config: EfficientNetConfig;
  readonly weights: WeightsInput;
  readonly fp16?: boolean;
  /** External data file name (relative to the graph file); omit to keep weights inline. */
  readonly externalDataLocation?: string;
  /** Stored as ONNX metadata_props. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ExportedModel {
  readonly spec: NetworkSpec;
  readonly encoded: EncodedModel;
  readonly params: number;
  readonly macs: number;
}

/** The slow half of an export: weights generated or read, then BatchNorm folded into the convolutions. */
export interface PreparedWeights {
  readonly spec: NetworkSpec;
  readonly folded: FoldedWeights;
}

export function prepareWeights(config: EfficientNetConfig, weights: WeightsInput): PreparedWeights {
  const spec = buildSpec(config);
  const tensors = weights.kind === 'random' ? randomCheckpoint(spec, weights.seed) : weights.tensors;
  const naming: Naming = weights.kind === 'random' ? 'timm' : weights.naming;
  return { spec, folded: foldWeights(spec, tensors, naming) };
}

/** The fast half: graph and encoding. Large tensors are referenced from `encoded` chunks, not copied. */
export function encodePrepared(prepared: PreparedWeights, options: ExportOptions): ExportedModel {
  const { spec, folded } = prepared;
  const graph = buildGraph(spec, folded, { fp16: options.fp16 ?? false });
  const r = options.config.resolution;
  const { params, macs } = countGraph(graph, [1, 3, r, r]);
  const model: OnnxModel = {
    graph,
    opset: OPSET,
    irVersion: IR_VERSION,
    producerName: PRODUCER.name,
    producerVersion: PRODUCER.version,
    // Untrained models say so in the file itself, whatever the caller adds.
    metadata: {
      weights: options.weights.kind === 'random' ? 'untrained' : 'pretrained',
      ...(options.weights.kind === 'random' ? { source: 'random', seed: String(options.weights.seed) } : {}),
      ...options.metadata,
    },
  };
  const external = options.externalDataLocation ? { location: options.externalDataLocation } : undefined;
  return { spec, encoded: encodeModel(model, external), params, macs };
}

/** Multiplies the classifier's weights and bias, i.e. the logits, by `factor` (in place). */
export function scaleLogits(prepared: PreparedWeights, factor: number): void {
  const { weight, bias } = prepared.folded.classifier;
  for (let i = 0; i < weight.length; i++) weight[i] = (weight[i] ?? 0) * factor;
  for (let i = 0; i < bias.length; i++) bias[i] = (bias[i] ?? 0) * factor;
}

/** Builds and encodes the model; large tensors are referenced from `encoded` chunks, not copied. */
export function exportEfficientNetChunks(options: ExportOptions): ExportedModel {
  return encodePrepared(prepareWeights(options.config, options.weights), options);
}

/** Convenience for tests and small models: the ONNX file (and external data, if asked) as bytes. */
export function exportEfficientNet(options: ExportOptions): { model: Uint8Array; data: Uint8Array | null } {
  const { encoded } = exportEfficientNetChunks(options);
  return {
    model: concatChunks(encoded.graphChunks),
    data: options.externalDataLocation ? concatChunks(encoded.dataChunks) : null,
  };
}

/** Parameter and MAC counts from the graph structure alone (no weight data is generated). */
export function countModel(config: EfficientNetConfig): { params: number; macs: number; bnChannels: number } {
  const spec = buildSpec(config);
  const graph = buildGraph(spec, null);
  const r = config.resolution;
  const { params, macs } = countGraph(graph, [1, 3, r, r]);
  let bnChannels = 0;
  for (const init of graph.initializers) {
    // Every folded BN left one bias per channel on a conv that had none; SE convs had their own bias.
    if (init.name.endsWith('.bias') && !init.name.includes('.se.') && init.name !== 'classifier.bias') {
      bnChannels += init.dims[0] ?? 0;
    }
  }
  return { params, macs, bnChannels };
}
