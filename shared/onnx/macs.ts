// Counts multiply-accumulates (MACs) of one inference by propagating tensor shapes through the graph.
// Only Conv, Gemm and MatMul are counted (the convention of published "FLOPs" tables for MobileNet and
// EfficientNet); activations, pooling, bias adds and softmax are not. One counter for every graph the
// project sees: ONNX files read with the protobuf reader (infra/eval) and the factory's own graphs
// (analyze.ts), each seen through the small view below.

export class MacCountError extends Error {}

type Shape = readonly number[];

/** A node as shape propagation sees it: wiring and its integer and string attributes. */
export interface ShapeNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly ints: ReadonlyMap<string, readonly number[]>;
  readonly strings: ReadonlyMap<string, string>;
}

export interface ShapeConstant {
  readonly dims: readonly number[];
  /** Values of int64 tensors (shapes, axes), which shape propagation sometimes needs. */
  readonly int64?: readonly number[];
}

export interface ShapeGraph {
  readonly nodes: readonly ShapeNode[];
  /** Initializers and Constant-node outputs by name. */
  readonly constants: ReadonlyMap<string, ShapeConstant>;
  /** Graph inputs that are not initializers, with declared shapes (-1 for a symbolic dimension). */
  readonly inputs: ReadonlyMap<string, readonly number[]>;
  readonly outputs: readonly string[];
}

const ELEMENTWISE_UNARY = new Set([
  'Identity',
  'Relu',
  'Clip',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Softmax',
  'LogSoftmax',
  'Dropout',
  'BatchNormalization',
  'LeakyRelu',
  'Elu',
  'Selu',
  'Exp',
  'Neg',
  'Sqrt',
  'Erf',
  'Cast',
]);
const ELEMENTWISE_BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum']);

function broadcast(shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d !== 1) dim = d;
    }
    out.push(dim);
  }
  return out;
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** Output spatial sizes of a convolution or pooling window, honouring pads, dilations and auto_pad. */
function windowOutput(node: ShapeNode, input: Shape, kernel: readonly number[]): number[] {
  const spatial = input.slice(2);
  const strides = node.ints.get('strides') ?? spatial.map(() => 1);
  const dilations = node.ints.get('dilations') ?? spatial.map(() => 1);
  const pads = node.ints.get('pads') ?? spatial.flatMap(() => [0, 0]);
  const autoPad = node.strings.get('auto_pad') ?? 'NOTSET';
  const ceil = (node.ints.get('ceil_mode')?.[0] ?? 0) === 1;
  return spatial.map((size, i) => {
    const stride = strides[i] ?? 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / stride);
    const k = ((kernel[i] ?? 1) - 1) * (dilations[i] ?? 1) + 1;
    const padded = size + (autoPad === 'VALID' ? 0 : (pads[i] ?? 0) + (pads[i + spatial.length] ?? 0));
    const round = ceil ? Math.ceil : Math.floor;
    return round((padded - k) / stride) + 1;
  });
}

function reshapeTarget(input: Shape, target: readonly number[], allowZero: boolean): Shape {
  const out = target.map((d, i) => (d === 0 && !allowZero ? (input[i] ?? 0) : d));
  const inferred = out.indexOf(-1);
  if (inferred >= 0) out[inferred] = product(input) / product(out.filter((d) => d !== -1));
  return out;
}

export interface MacCount {
  readonly macs: number;
  /** MACs by operator type, for reporting. */
  readonly byOp: Readonly<Record<string, number>>;
  /** The propagated shape of every tensor, by name. */
  readonly shapes: ReadonlyMap<string, Shape>;
}

/** Propagates shapes from the declared inputs, their batch dimension set to `batch`, and counts MACs. */
export function countMacs(graph: ShapeGraph, batch = 1): MacCount {
  const shapes = new Map<string, Shape>();
  for (const [name, c] of graph.constants) shapes.set(name, c.dims);
  for (const [name, dims] of graph.inputs) {
    if (dims.slice(1).some((d) => d <= 0))
      throw new MacCountError(`input ${name} has a symbolic non-batch dimension`);
    shapes.set(name, [batch, ...dims.slice(1)]);
  }
  const byOp: Record<string, number> = {};
  const add = (op: string, n: number) => {
    byOp[op] = (byOp[op] ?? 0) + n;
  };

  for (const node of graph.nodes) {
    const shapeOf = (i: number): Shape => {
      const name = node.inputs[i] ?? '';
      const s = shapes.get(name);
      if (!s) throw new MacCountError(`${node.opType}: unknown shape for input "${name}"`);
      return s;
    };
    let out: Shape;
    const op = node.opType;
    if (op === 'Conv') {
      const x = shapeOf(0);
      const w = shapeOf(1);
      const spatial = windowOutput(node, x, w.slice(2));
      out = [x[0] ?? batch, w[0] ?? 0, ...spatial];
      add(op, product(out) * product(w.slice(1)));
    } else if (op === 'Gemm') {
      const a = shapeOf(0);
      const b = shapeOf(1);
      const transA = node.ints.get('transA')?.[0] === 1;
      const transB = node.ints.get('transB')?.[0] === 1;
      const [m, k] = transA ? [a[1] ?? 0, a[0] ?? 0] : [a[0] ?? 0, a[1] ?? 0];
      const n = (transB ? b[0] : b[1]) ?? 0;
      out = [m, n];
      add(op, m * n * k);
    } else if (op === 'MatMul') {
      const a = shapeOf(0);
      const b = shapeOf(1);
      const k = a[a.length - 1] ?? 0;
      const n = b[b.length - 1] ?? 0;
      out = [...broadcast([a.slice(0, -2), b.slice(0, -2)]), a[a.length - 2] ?? 1, n];
      add(op, product(out) * k);
    } else if (op === 'AveragePool' || op === 'MaxPool') {
      const x = shapeOf(0);
      out = [x[0] ?? batch, x[1] ?? 0, ...windowOutput(node, x, node.ints.get('kernel_shape') ?? [])];
    } else if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') {
      const x = shapeOf(0);
      out = [x[0] ?? batch, x[1] ?? 0, ...x.slice(2).map(() => 1)];
    } else if (op === 'ReduceMean') {
      const x = shapeOf(0);
      const axesInput = node.inputs[1] ? graph.constants.get(node.inputs[1])?.int64 : undefined;
      const axes = (node.ints.get('axes') ?? axesInput ?? x.map((_, i) => i)).map((a) =>
        a < 0 ? a + x.length : a,
      );
      const keep = (node.ints.get('keepdims')?.[0] ?? 1) === 1;
      out = keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
    } else if (op === 'Flatten') {
      const x = shapeOf(0);
      const axis = node.ints.get('axis')?.[0] ?? 1;
      out = [product(x.slice(0, axis)), product(x.slice(axis))];
    } else if (op === 'Reshape') {
      const target = graph.constants.get(node.inputs[1] ?? '')?.int64;
      if (!target) throw new MacCountError('Reshape with a computed target shape is not supported');
      out = reshapeTarget(shapeOf(0), target, node.ints.get('allowzero')?.[0] === 1);
    } else if (op === 'Squeeze') {
      const x = shapeOf(0);
      const axes = node.ints.get('axes') ?? graph.constants.get(node.inputs[1] ?? '')?.int64;
      out = axes
        ? x.filter((_, i) => !axes.map((a) => (a < 0 ? a + x.length : a)).includes(i))
        : x.filter((d) => d !== 1);
    } else if (op === 'Pad') {
      const x = shapeOf(0);
      const pads = node.ints.get('pads') ?? graph.constants.get(node.inputs[1] ?? '')?.int64;
      if (!pads || node.inputs[3]) throw new MacCountError('Pad needs constant pads over all axes');
      out = x.map((d, i) => d + (pads[i] ?? 0) + (pads[i + x.length] ?? 0));
    } else if (ELEMENTWISE_UNARY.has(op)) {
      out = shapeOf(0);
    } else if (ELEMENTWISE_BINARY.has(op)) {
      out = broadcast(node.inputs.map((_, i) => shapeOf(i)));
    } else {
      throw new MacCountError(`operator ${op} is not supported by the MAC counter`);
    }
    for (const name of node.outputs) if (name) shapes.set(name, out);
  }
  return { macs: Object.values(byOp).reduce((a, b) => a + b, 0), byOp, shapes };
}
