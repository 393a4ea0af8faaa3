// Static shape propagation over the ops this project emits, to count parameters and
// multiply-accumulates (Conv and Gemm) from a built graph rather than from the architecture table.

import type { OnnxGraph, OnnxNode } from './model.ts';

export interface GraphCounts {
  /** Stored initializer elements (weights and biases after BatchNorm folding). */
  readonly params: number;
  /** Multiply-accumulates of Conv and Gemm for one input of the given shape. */
  readonly macs: number;
  readonly outputShape: readonly number[];
}

function ints(node: OnnxNode, key: string, fallback: readonly number[]): readonly number[] {
  const v = node.attributes?.[key];
  return Array.isArray(v) ? v : fallback;
}

function int(node: OnnxNode, key: string, fallback: number): number {
  const v = node.attributes?.[key];
  return typeof v === 'number' ? v : fallback;
}

function at(shape: readonly number[], i: number): number {
  const v = shape[i];
  if (v === undefined) throw new Error(`shape ${JSON.stringify(shape)} has no axis ${i}`);
  return v;
}

function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`cannot broadcast ${a} with ${b}`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** Propagates shapes from a concrete input shape (batch included) and counts Conv/Gemm work. */
export function countGraph(graph: OnnxGraph, inputShape: readonly number[]): GraphCounts {
  const shapes = new Map<string, readonly number[]>();
  let params = 0;
  for (const init of graph.initializers) {
    shapes.set(init.name, init.dims);
    params += init.dims.reduce((a, b) => a * b, 1);
  }
  const input = graph.inputs[0];
  if (!input) throw new Error('graph has no input');
  shapes.set(input.name, inputShape);
  const shapeOf = (name: string | undefined): readonly number[] => {
    const s = name === undefined ? undefined : shapes.get(name);
    if (!s) throw new Error(`no shape known for tensor ${name}`);
    return s;
  };

  let macs = 0;
  for (const node of graph.nodes) {
    const x = shapeOf(node.inputs[0]);
    let out: readonly number[];
    switch (node.opType) {
      case 'Conv': {
        const w = shapeOf(node.inputs[1]);
        const strides = ints(node, 'strides', [1, 1]);
        const pads = ints(node, 'pads', [0, 0, 0, 0]);
        const spatial = [2, 3].map((axis, i) => {
          const size = at(x, axis) + (pads[i] ?? 0) + (pads[i + 2] ?? 0);
          return Math.floor((size - at(w, axis)) / (strides[i] ?? 1)) + 1;
        });
        out = [at(x, 0), at(w, 0), ...spatial];
        macs += at(out, 0) * at(out, 1) * at(out, 2) * at(out, 3) * at(w, 1) * at(w, 2) * at(w, 3);
        break;
      }
      case 'Gemm': {
        const w = shapeOf(node.inputs[1]);
        const transB = int(node, 'transB', 0) === 1;
        const n = transB ? at(w, 0) : at(w, 1);
        macs += at(x, 0) * at(x, 1) * n;
        out = [at(x, 0), n];
        break;
      }
      case 'GlobalAveragePool':
        out = [at(x, 0), at(x, 1), 1, 1];
        break;
      case 'Flatten': {
        const axis = int(node, 'axis', 1);
        out = [x.slice(0, axis).reduce((a, b) => a * b, 1), x.slice(axis).reduce((a, b) => a * b, 1)];
        break;
      }
      case 'Add':
      case 'Mul':
        out = broadcast(x, shapeOf(node.inputs[1]));
        break;
      case 'Sigmoid':
      case 'Cast':
      case 'Identity':
        out = x;
        break;
      default:
        throw new Error(`countGraph does not know op ${node.opType}`);
    }
    for (const name of node.outputs) shapes.set(name, out);
  }
  const output = graph.outputs[0];
  return { params, macs, outputShape: shapeOf(output?.name) };
}
