// B0/B1 cut at block boundaries for the per-stage benchmark: the factory's graph with seeded random
// weights, one prefix per boundary (stem, each MBConv stage, head = the whole graph), and per stage the
// op list and MACs by kind from the project's MAC counter (shared/onnx/analyze.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelManifestSchema } from '../../shared/catalog/manifest.ts';
import { variantConfig } from '../../shared/efficientnet/config.ts';
import { prepareWeights } from '../../shared/efficientnet/export.ts';
import { BATCH_DIM, buildGraph, INPUT_NAME } from '../../shared/efficientnet/graph.ts';
import { buildSpec } from '../../shared/efficientnet/spec.ts';
import type { Variant } from '../../shared/efficientnet/variants.ts';
import { countGraph } from '../../shared/onnx/analyze.ts';
import { cutGraph } from '../../shared/onnx/cut.ts';
import { encodeModel, type OnnxGraph, type OnnxNode } from '../../shared/onnx/model.ts';
import { concatChunks } from '../../shared/onnx/protobuf.ts';

export type OpKind =
  | 'stem_conv'
  | 'pointwise'
  | 'depthwise'
  | 'se'
  | 'activation'
  | 'residual'
  | 'classifier';

export interface Stage {
  /** stem, blocks.0 … blocks.6 (timm's stage index), head (conv_head, pool, classifier). */
  name: string;
  /** The boundary tensor: this stage's last output; the prefix up to it is timed. */
  tensor: string;
  outputShape: readonly number[];
  ops: Record<string, number>;
  macs: number;
  macsByKind: Partial<Record<OpKind, number>>;
}

export interface CutModel {
  variant: Variant;
  resolution: number;
  graph: OnnxGraph;
  stages: Stage[];
}

function stageOf(node: OnnxNode): string {
  const m = /^blocks\.(\d+)\./.exec(node.name);
  if (m) return `blocks.${m[1]}`;
  return node.name.startsWith('conv_stem') ? 'stem' : 'head';
}

function kindOf(node: OnnxNode, graph: OnnxGraph): OpKind {
  if (node.name.includes('.se')) return 'se';
  if (node.opType === 'Add') return 'residual';
  if (node.opType === 'Sigmoid' || node.opType === 'Mul') return 'activation';
  if (node.opType !== 'Conv') return 'classifier';
  const weight = graph.initializers.find((t) => t.name === node.inputs[1]);
  const [, inPerGroup = 1, kh = 1] = weight?.dims ?? [];
  if (Number(node.attributes?.group ?? 1) > 1 && inPerGroup === 1) return 'depthwise';
  if (kh === 1) return 'pointwise';
  return 'stem_conv';
}

const macsOf = (graph: OnnxGraph, tensor: string, r: number) =>
  countGraph(cutGraph(graph, tensor), [1, 3, r, r]).macs;

/** Stage list with op counts and MACs; `withWeights` adds seeded random weights (needed to run it). */
export function cutModel(variant: Variant, withWeights: boolean): CutModel {
  const config = variantConfig(variant);
  const graph = withWeights
    ? (() => {
        const prepared = prepareWeights(config, { kind: 'random', seed: 0 });
        return buildGraph(prepared.spec, prepared.folded);
      })()
    : buildGraph(buildSpec(config), null);
  const r = config.resolution;
  const stages: Stage[] = [];
  let previousMacs = 0;
  for (const node of graph.nodes) {
    const name = stageOf(node);
    let stage = stages.at(-1);
    if (stage?.name !== name) {
      stage = { name, tensor: '', outputShape: [], ops: {}, macs: 0, macsByKind: {} };
      stages.push(stage);
    }
    stage.tensor = node.outputs[0] ?? '';
    const kind = kindOf(node, graph);
    const key = `${node.opType}:${kind}`;
    stage.ops[key] = (stage.ops[key] ?? 0) + 1;
    if (node.opType === 'Conv' || node.opType === 'Gemm') {
      const added = macsOf(graph, node.outputs[0] ?? '', r) - macsOf(graph, node.inputs[0] ?? '', r);
      stage.macsByKind[kind] = (stage.macsByKind[kind] ?? 0) + added;
    }
  }
  for (const stage of stages) {
    const counts = countGraph(cutGraph(graph, stage.tensor), [1, 3, r, r]);
    stage.outputShape = counts.outputShape;
    stage.macs = counts.macs - previousMacs;
    previousMacs = counts.macs;
  }
  return { variant, resolution: r, graph, stages };
}

export const prefixId = (variant: Variant, stage: string) => `efficientnet-${variant}-to-${stage}`;

/** Writes one model directory (model.json + model.onnx) per prefix; returns them in stage order. */
export async function writePrefixes(model: CutModel, outDir: string): Promise<{ id: string; dir: string }[]> {
  const out: { id: string; dir: string }[] = [];
  for (const stage of model.stages) {
    const id = prefixId(model.variant, stage.name);
    const dir = path.join(outDir, id);
    await mkdir(dir, { recursive: true });
    const graph = cutGraph(model.graph, stage.tensor);
    const bytes = concatChunks(
      encodeModel({
        graph,
        opset: 17,
        irVersion: 8,
        producerName: 'layers-bench',
        producerVersion: '0',
        metadata: { id, weights: 'untrained' },
      }).graphChunks,
    );
    await writeFile(path.join(dir, 'model.onnx'), bytes);
    const counts = countGraph(graph, [1, 3, model.resolution, model.resolution]);
    const manifest = ModelManifestSchema.parse({
      id,
      variant: model.variant,
      resolution: model.resolution,
      weights: 'untrained',
      source: 'random',
      seed: 0,
      split: false,
      fp16: false,
      config: variantConfig(model.variant),
      input: { name: INPUT_NAME, shape: [BATCH_DIM, 3, model.resolution, model.resolution] },
      output: { name: stage.tensor, classes: counts.outputShape.slice(1).reduce((a, b) => a * b, 1) },
      params: counts.params,
      macs: counts.macs,
      files: [{ name: 'model.onnx', bytes: bytes.byteLength }],
      created: new Date().toISOString(),
    });
    await writeFile(path.join(dir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    out.push({ id, dir });
  }
  return out;
}
