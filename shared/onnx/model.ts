// In-memory ONNX model description and its ModelProto encoding (field numbers from onnx.proto, IR 8).

import { ProtoWriter } from './protobuf.ts';

export const DataType = { FLOAT: 1, INT64: 7, FLOAT16: 10 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type AttributeValue = number | string | readonly number[];

export interface OnnxNode {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Integers (INT/INTS) and strings only; that is all this model family needs. */
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: DataTypeCode;
  /** Little-endian element bytes; null when only shapes are needed (statistics). */
  readonly data: Uint8Array | null;
}

/** A dimension is a fixed size or a symbolic name such as "batch". */
export type Dim = number | string;

export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: DataTypeCode;
  readonly shape: readonly Dim[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  readonly graph: OnnxGraph;
  readonly opset: number;
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ExternalDataOptions {
  /** File name written into each TensorProto, relative to the graph file (e.g. "model.onnx.data"). */
  readonly location: string;
  /** Tensors smaller than this stay inline in the graph file. */
  readonly minBytes?: number;
}

export interface EncodedModel {
  /** The ModelProto, as ordered chunks. */
  readonly graphChunks: Uint8Array[];
  /** The external data file, as ordered chunks (empty when not split). */
  readonly dataChunks: Uint8Array[];
  readonly dataBytes: number;
}

const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
const DATA_LOCATION_EXTERNAL = 1;

/** Offsets of large tensors are page aligned so runtimes may memory-map them; small ones 64-byte aligned. */
export function externalAlignment(bytes: number): number {
  return bytes >= 65536 ? 4096 : 64;
}

function encodeAttribute(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    w.varint(3, value).varint(20, ATTR_INT);
  } else if (typeof value === 'string') {
    w.string(4, value).varint(20, ATTR_STRING);
  } else {
    for (const v of value) w.varint(8, v);
    w.varint(20, ATTR_INTS);
  }
  return w;
}

function encodeNode(node: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const [key, value] of Object.entries(node.attributes ?? {})) w.message(5, encodeAttribute(key, value));
  return w;
}

function encodeValueInfo(info: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    const d = new ProtoWriter();
    if (typeof dim === 'number') d.varint(1, dim);
    else d.string(2, dim);
    shape.message(1, d);
  }
  const tensorType = new ProtoWriter().varint(1, info.elemType).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, info.name).message(2, type);
}

function entry(key: string, value: string): ProtoWriter {
  return new ProtoWriter().string(1, key).string(2, value);
}

interface DataFile {
  chunks: Uint8Array[];
  bytes: number;
}

function encodeInitializer(init: OnnxInitializer, external: ExternalDataOptions | undefined, file: DataFile) {
  if (!init.data) throw new Error(`initializer ${init.name} has no data to encode`);
  const w = new ProtoWriter();
  for (const d of init.dims) w.varint(1, d);
  w.varint(2, init.dataType).string(8, init.name);
  const minBytes = external?.minBytes ?? 1024;
  if (!external || init.data.length < minBytes) {
    w.bytes(9, init.data);
    return w;
  }
  const align = externalAlignment(init.data.length);
  const pad = (align - (file.bytes % align)) % align;
  if (pad) {
    file.chunks.push(new Uint8Array(pad));
    file.bytes += pad;
  }
  w.message(13, entry('location', external.location));
  w.message(13, entry('offset', String(file.bytes)));
  w.message(13, entry('length', String(init.data.length)));
  w.varint(14, DATA_LOCATION_EXTERNAL);
  file.chunks.push(init.data);
  file.bytes += init.data.length;
  return w;
}

export function encodeModel(model: OnnxModel, external?: ExternalDataOptions): EncodedModel {
  const file: DataFile = { chunks: [], bytes: 0 };
  const g = new ProtoWriter();
  for (const node of model.graph.nodes) g.message(1, encodeNode(node));
  g.string(2, model.graph.name);
  for (const init of model.graph.initializers) g.message(5, encodeInitializer(init, external, file));
  for (const input of model.graph.inputs) g.message(11, encodeValueInfo(input));
  for (const output of model.graph.outputs) g.message(12, encodeValueInfo(output));

  const m = new ProtoWriter()
    .varint(1, model.irVersion)
    .string(2, model.producerName)
    .string(3, model.producerVersion);
  if (model.docString) m.string(6, model.docString);
  m.message(7, g);
  m.message(8, new ProtoWriter().string(1, '').varint(2, model.opset));
  for (const [key, value] of Object.entries(model.metadata)) m.message(14, entry(key, value));
  return { graphChunks: m.finish(), dataChunks: file.chunks, dataBytes: file.bytes };
}
