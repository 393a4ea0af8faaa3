// Parameters and multiply-accumulates (Conv and Gemm) of a built graph, counted from the graph rather
// than from the architecture table. The MACs come from the one counter in macs.ts, which sees this
// writer-side graph through its small shape view.

import { countMacs, type ShapeGraph, type ShapeNode } from './macs.ts';
import type { OnnxGraph, OnnxNode } from './model.ts';

export interface GraphCounts {
  /** Stored initializer elements (weights and biases after BatchNorm folding). */
  readonly params: number;
  /** Multiply-accumulates of Conv and Gemm for one input of the given shape. */
  readonly macs: number;
  readonly outputShape: readonly number[];
}

function shapeNode(node: OnnxNode): ShapeNode {
  const ints = new Map<string, readonly number[]>();
  const strings = new Map<string, string>();
  for (const [key, value] of Object.entries(node.attributes ?? {})) {
    if (typeof value === 'string') strings.set(key, value);
    else ints.set(key, typeof value === 'number' ? [value] : value);
  }
  return { opType: node.opType, inputs: node.inputs, outputs: node.outputs, ints, strings };
}

/** Propagates shapes from a concrete input shape (batch included) and counts parameters and MACs. */
export function countGraph(graph: OnnxGraph, inputShape: readonly number[]): GraphCounts {
  const input = graph.inputs[0];
  if (!input) throw new Error('graph has no input');
  const view: ShapeGraph = {
    nodes: graph.nodes.map(shapeNode),
    constants: new Map(graph.initializers.map((init) => [init.name, { dims: init.dims }])),
    inputs: new Map([[input.name, inputShape]]),
    outputs: graph.outputs.map((output) => output.name),
  };
  const { macs, shapes } = countMacs(view, inputShape[0] ?? 1);
  const params = graph.initializers.reduce((sum, init) => sum + init.dims.reduce((a, b) => a * b, 1), 0);
  const outputName = graph.outputs[0]?.name;
  const outputShape = outputName === undefined ? undefined : shapes.get(outputName);
  if (!outputShape) throw new Error(`no shape known for tensor ${outputName}`);
  return { params, macs, outputShape };
}
