// safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. Reading never trusts the header: every range is checked.

import { bfloat16ToFloat32, float16ToFloat32 } from './float16.ts';

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

export interface SafeTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The tensor's bytes inside the file (no copy). */
  readonly bytes: Uint8Array;
  /** Float values as a fresh array the caller owns (F32, F16 and BF16 are supported). */
  toFloat32(): Float32Array;
}

const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

function copyAligned(bytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out.buffer;
}

function decode(name: string, dtype: string, bytes: Uint8Array): Float32Array {
  switch (dtype) {
    case 'F32':
      return new Float32Array(copyAligned(bytes));
    case 'F16':
      return float16ToFloat32(new Uint16Array(copyAligned(bytes)));
    case 'BF16':
      return bfloat16ToFloat32(new Uint16Array(copyAligned(bytes)));
    case 'F64':
      return Float32Array.from(new Float64Array(copyAligned(bytes)));
    default:
      throw new SafetensorsError(`tensor ${name} has dtype ${dtype}; only F32, F16, BF16 and F64 are floats`);
  }
}

interface HeaderEntry {
  dtype?: unknown;
  shape?: unknown;
  data_offsets?: unknown;
}

export function readSafetensors(file: Uint8Array): Map<string, SafeTensor> {
  if (file.length < 8) throw new SafetensorsError(`file is ${file.length} bytes, too short for a header`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > file.length - 8) {
    throw new SafetensorsError(`header length ${headerLength} exceeds file size ${file.length}`);
  }
  let header: Record<string, HeaderEntry>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(file.subarray(8, 8 + headerLength)),
    );
  } catch (err) {
    throw new SafetensorsError(`header is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = file.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !(dtype in ELEMENT_BYTES)) {
      throw new SafetensorsError(`tensor ${name}: unknown dtype ${String(dtype)}`);
    }
    const validShape = Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
    const validOffsets =
      Array.isArray(offsets) &&
      offsets.length === 2 &&
      offsets.every((o) => Number.isSafeInteger(o) && o >= 0);
    if (!validShape || !validOffsets)
      throw new SafetensorsError(`tensor ${name}: malformed shape or offsets`);
    const [begin, end] = offsets as [number, number];
    const dims = shape as number[];
    const expected = dims.reduce((a, b) => a * b, 1) * (ELEMENT_BYTES[dtype] ?? 1);
    if (end < begin || end > dataLength || end - begin !== expected) {
      throw new SafetensorsError(
        `tensor ${name}: byte range [${begin}, ${end}) does not hold ${dtype}[${dims.join(', ')}] in ${dataLength} data bytes`,
      );
    }
    const bytes = file.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype, shape: dims, bytes, toFloat32: () => decode(name, dtype, bytes) });
  }
  return tensors;
}

export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Writes F32 tensors (used to make test checkpoints). */
export function writeSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name] as TensorToWrite;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new SafetensorsError(
        `tensor ${name}: shape [${t.shape.join(', ')}] needs ${count} values, got ${t.data.length}`,
      );
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Space-pad the header so tensor data starts 8-byte aligned, as the format recommends.
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name] as TensorToWrite;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
