// Lowers a NetworkSpec (plus folded weights, or none for shape-only analysis) to an ONNX graph built
// from standard opset-17 ops: Conv, Sigmoid, Mul, Add, GlobalAveragePool, Flatten, Gemm (and Cast for fp16).

import { float32ToFloat16 } from '../onnx/float16.ts';
import { DataType, type OnnxGraph, type OnnxInitializer, type OnnxNode } from '../onnx/model.ts';
import type { FoldedConv, FoldedWeights } from './fold.ts';
import { type ConvSpec, convWeightShape, type NetworkSpec } from './spec.ts';

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';
export const BATCH_DIM = 'batch';

export interface GraphOptions {
  /** Store weights as FLOAT16 and Cast them to float inside the graph. */
  readonly fp16?: boolean;
}

function bytesOf(values: Float32Array | Uint16Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];

  constructor(
    private readonly weights: FoldedWeights | null,
    private readonly fp16: boolean,
  ) {}

  node(opType: string, name: string, inputs: string[], attributes?: OnnxNode['attributes']): string {
    const output = `${name}/out`;
    this.nodes.push({ opType, name, inputs, outputs: [output], ...(attributes ? { attributes } : {}) });
    return output;
  }

  /** Adds a float tensor; in fp16 mode it is stored as FLOAT16 and a Cast restores float32. */
  constant(name: string, dims: number[], values: Float32Array | null): string {
    if (!this.fp16) {
      this.initializers.push({ name, dims, dataType: DataType.FLOAT, data: values && bytesOf(values) });
      return name;
    }
    const stored = `${name}.fp16`;
    const data = values && bytesOf(float32ToFloat16(values));
    this.initializers.push({ name: stored, dims, dataType: DataType.FLOAT16, data });
    this.nodes.push({
      opType: 'Cast',
      name: `${name}.cast`,
      inputs: [stored],
      outputs: [name],
      attributes: { to: DataType.FLOAT },
    });
    return name;
  }

  folded(key: string): FoldedConv | null {
    if (!this.weights) return null;
    const f = key === 'classifier' ? this.weights.classifier : this.weights.convs.get(key);
    if (!f) throw new Error(`no folded weights for ${key}`);
    return f;
  }

  silu(name: string, x: string): string {
    const gate = this.node('Sigmoid', `${name}/sigmoid`, [x]);
    return this.node('Mul', `${name}/silu`, [x, gate]);
  }

  conv(c: ConvSpec, x: string): string {
    const key = c.module.timm;
    const f = this.folded(key);
    const w = this.constant(`${key}.weight`, convWeightShape(c), f?.weight ?? null);
    const b = this.constant(`${key}.bias`, [c.outChannels], f?.bias ?? null);
    const y = this.node('Conv', key, [x, w, b], {
      kernel_shape: [c.kernel, c.kernel],
      strides: [c.stride, c.stride],
      pads: [...c.pads],
      dilations: [1, 1],
      group: c.groups,
    });
    return c.activation === 'silu' ? this.silu(key, y) : y;
  }
}

export function buildGraph(
  spec: NetworkSpec,
  weights: FoldedWeights | null,
  options: GraphOptions = {},
): OnnxGraph {
  const g = new GraphBuilder(weights, options.fp16 ?? false);
  let x = g.conv(spec.stem, INPUT_NAME);
  for (const b of spec.blocks) {
    const name = `blocks.${b.stage}.${b.index}`;
    let h = b.expand ? g.conv(b.expand, x) : x;
    h = g.conv(b.depthwise, h);
    const pooled = g.node('GlobalAveragePool', `${name}.se/pool`, [h]);
    const reduced = g.conv(b.seReduce, pooled);
    const gate = g.node('Sigmoid', `${name}.se/gate`, [g.conv(b.seExpand, reduced)]);
    h = g.node('Mul', `${name}.se/scale`, [h, gate]);
    h = g.conv(b.project, h);
    x = b.residual ? g.node('Add', `${name}/residual`, [x, h]) : h;
  }
  x = g.conv(spec.head, x);
  x = g.node('GlobalAveragePool', 'pool', [x]);
  x = g.node('Flatten', 'flatten', [x], { axis: 1 });
  const { inFeatures, outFeatures } = spec.classifier;
  const f = g.folded('classifier');
  const w = g.constant('classifier.weight', [outFeatures, inFeatures], f?.weight ?? null);
  const bias = g.constant('classifier.bias', [outFeatures], f?.bias ?? null);
  g.nodes.push({
    opType: 'Gemm',
    name: 'classifier',
    inputs: [x, w, bias],
    outputs: [OUTPUT_NAME],
    attributes: { transB: 1 },
  });
  const r = spec.config.resolution;
  return {
    name: 'efficientnet',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, shape: [BATCH_DIM, 3, r, r] }],
    outputs: [{ name: OUTPUT_NAME, elemType: DataType.FLOAT, shape: [BATCH_DIM, outFeatures] }],
  };
}
