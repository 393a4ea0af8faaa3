import type { ShapeConstant, ShapeGraph, ShapeNode } from '../../shared/onnx/macs.ts';
import { type Field, int64s, readFields, text } from '../../shared/onnx/protobuf-reader.ts';

// Reads the parts of an ONNX graph that counting multiply-accumulates needs (shared/onnx/macs.ts): node
// wiring, integer attributes, constant shapes and declared input shapes. Field numbers are from
// onnx.proto (stable since IR v3).

const MODEL_GRAPH = 7;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, opType: 4, attribute: 5 } as const;
const ATTR = { name: 1, i: 3, s: 4, t: 5, ints: 8 } as const;
const TENSOR = { dims: 1, dataType: 2, int64Data: 7, name: 8, rawData: 9 } as const;
const VALUE_INFO_NAME = 1;
const INT64 = 7;

function messages(fields: readonly Field[], number: number): Field[][] {
  return fields.filter((f) => f.number === number && f.bytes).map((f) => readFields(f.bytes as Uint8Array));
}

function strings(fields: readonly Field[], number: number): string[] {
  return fields.filter((f) => f.number === number).map(text);
}

function readTensor(fields: readonly Field[]): ShapeConstant & { name: string } {
  const name = strings(fields, TENSOR.name)[0] ?? '';
  const dims = int64s(fields, TENSOR.dims);
  if (int64s(fields, TENSOR.dataType)[0] !== INT64) return { name, dims };
  const raw = fields.find((f) => f.number === TENSOR.rawData)?.bytes;
  if (!raw) return { name, dims, int64: int64s(fields, TENSOR.int64Data) };
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const values: number[] = [];
  for (let i = 0; i + 8 <= raw.byteLength; i += 8) values.push(Number(view.getBigInt64(i, true)));
  return { name, dims, int64: values };
}

// ValueInfoProto.type (2) → TypeProto.tensor_type (1) → shape (2) → dim (1) → dim_value (1).
function declaredShape(valueInfo: readonly Field[]): number[] {
  const tensorType = messages(messages(valueInfo, 2)[0] ?? [], 1)[0] ?? [];
  const shape = messages(tensorType, 2)[0] ?? [];
  return messages(shape, 1).map((dim) => int64s(dim, 1)[0] ?? -1);
}

function readNode(fields: readonly Field[], constants: Map<string, ShapeConstant>): ShapeNode {
  const node = {
    opType: strings(fields, NODE.opType)[0] ?? '',
    inputs: strings(fields, NODE.input),
    outputs: strings(fields, NODE.output),
    ints: new Map<string, readonly number[]>(),
    strings: new Map<string, string>(),
  };
  for (const attr of messages(fields, NODE.attribute)) {
    const name = strings(attr, ATTR.name)[0] ?? '';
    const list = int64s(attr, ATTR.ints);
    const single = int64s(attr, ATTR.i);
    if (list.length > 0) node.ints.set(name, list);
    else if (single.length > 0) node.ints.set(name, single);
    const s = attr.find((f) => f.number === ATTR.s);
    if (s) node.strings.set(name, text(s));
    const t = messages(attr, ATTR.t)[0];
    const out = node.outputs[0];
    if (t && node.opType === 'Constant' && name === 'value' && out) constants.set(out, readTensor(t));
  }
  return node;
}

export function parseOnnx(bytes: Uint8Array): ShapeGraph {
  const graph = messages(readFields(bytes), MODEL_GRAPH)[0];
  if (!graph) throw new Error('not an ONNX model (no graph)');
  const constants = new Map<string, ShapeConstant>();
  for (const t of messages(graph, GRAPH.initializer).map(readTensor)) constants.set(t.name, t);
  const nodes = messages(graph, GRAPH.node).map((n) => readNode(n, constants));
  const inputs = new Map<string, readonly number[]>();
  for (const vi of messages(graph, GRAPH.input)) {
    const name = strings(vi, VALUE_INFO_NAME)[0] ?? '';
    if (!constants.has(name)) inputs.set(name, declaredShape(vi));
  }
  const outputs = messages(graph, GRAPH.output).map((vi) => strings(vi, VALUE_INFO_NAME)[0] ?? '');
  return { nodes, constants, inputs, outputs };
}
