// Cuts an ONNX graph at one tensor: the prefix keeps only the nodes and initializers that tensor depends
// on and makes it the sole output. Used to time a network block by block (each prefix on the runtime,
// differences between consecutive prefixes) and to read intermediate tensors for checks.

import { countGraph } from './analyze.ts';
import { DataType, type OnnxGraph, type OnnxNode, type OnnxValueInfo } from './model.ts';

/** The graph up to `tensor`, which becomes its only output (shape from static propagation). */
export function cutGraph(graph: OnnxGraph, tensor: string): OnnxGraph {
  const producer = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    for (const out of node.outputs) producer.set(out, i);
  });
  const isInput = graph.inputs.some((v) => v.name === tensor);
  if (!producer.has(tensor) && !isInput) throw new Error(`no node of ${graph.name} produces ${tensor}`);
  const keep = new Set<number>();
  const needed = new Set<string>();
  const pending = [tensor];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (needed.has(name)) continue;
    needed.add(name);
    const i = producer.get(name);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    for (const input of (graph.nodes[i] as OnnxNode).inputs) if (input !== '') pending.push(input);
  }
  const prefix: OnnxGraph = {
    name: `${graph.name}_to_${tensor}`,
    nodes: graph.nodes.filter((_, i) => keep.has(i)),
    initializers: graph.initializers.filter((t) => needed.has(t.name)),
    inputs: graph.inputs.filter((v) => needed.has(v.name)),
    outputs: [{ name: tensor, elemType: DataType.FLOAT, shape: [] }],
  };
  return { ...prefix, outputs: [outputInfo(prefix, tensor)] };
}

/** The same graph with extra intermediate tensors exposed as outputs after the existing ones. */
export function withExtraOutputs(graph: OnnxGraph, tensors: readonly string[]): OnnxGraph {
  const extra = tensors.map((t) => outputInfo(cutGraph(graph, t), t));
  return { ...graph, outputs: [...graph.outputs, ...extra] };
}

/** Output value info with the batch axis kept symbolic when the graph input's is. */
function outputInfo(prefix: OnnxGraph, tensor: string): OnnxValueInfo {
  const input = prefix.inputs[0];
  if (!input) throw new Error(`${tensor} does not depend on the graph input`);
  const concrete = input.shape.map((d) => (typeof d === 'number' ? d : 1));
  const probe = { ...prefix, outputs: [{ name: tensor, elemType: DataType.FLOAT, shape: [] }] };
  const shape = countGraph(probe, concrete).outputShape;
  const batch = input.shape[0];
  return {
    name: tensor,
    elemType: DataType.FLOAT,
    shape: [typeof batch === 'string' ? batch : (shape[0] ?? 1), ...shape.slice(1)],
  };
}
