// Just enough of the protobuf wire format to walk an ONNX ModelProto without a schema compiler: the
// reading side of protobuf.ts (the writer the model factory uses).

export class ProtobufError extends Error {}

export interface Field {
  readonly number: number;
  readonly wireType: number;
  /** Set for varint fields (wire type 0). */
  readonly varint?: bigint;
  /** Set for length-delimited fields (wire type 2): a view into the parent buffer. */
  readonly bytes?: Uint8Array;
}

function readVarint(buf: Uint8Array, start: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  let pos = start;
  for (;;) {
    const byte = buf[pos];
    if (byte === undefined) throw new ProtobufError('truncated varint');
    pos += 1;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value, next: pos };
    shift += 7n;
    if (shift > 70n) throw new ProtobufError('varint too long');
  }
}

/** The top-level fields of one message, in order; fixed-width fields are skipped. */
export function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const key = readVarint(buf, pos);
    pos = key.next;
    const number = Number(key.value >> 3n);
    const wireType = Number(key.value & 7n);
    switch (wireType) {
      case 0: {
        const v = readVarint(buf, pos);
        pos = v.next;
        fields.push({ number, wireType, varint: v.value });
        break;
      }
      case 1:
        pos += 8;
        fields.push({ number, wireType });
        break;
      case 2: {
        const len = readVarint(buf, pos);
        pos = len.next;
        const end = pos + Number(len.value);
        if (end > buf.length) throw new ProtobufError('length-delimited field runs past the end');
        fields.push({ number, wireType, bytes: buf.subarray(pos, end) });
        pos = end;
        break;
      }
      case 5:
        pos += 4;
        fields.push({ number, wireType });
        break;
      default:
        throw new ProtobufError(`unsupported wire type ${wireType}`);
    }
  }
  if (pos !== buf.length) throw new ProtobufError('message ends inside a field');
  return fields;
}

const utf8 = new TextDecoder();

export function text(field: Field): string {
  if (!field.bytes) throw new ProtobufError(`field ${field.number} is not length-delimited`);
  return utf8.decode(field.bytes);
}

/** A repeated int64 that may be packed (one length-delimited field) or unpacked (many varints). */
export function int64s(fields: readonly Field[], number: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.number !== number) continue;
    if (f.varint !== undefined) out.push(Number(BigInt.asIntN(64, f.varint)));
    else if (f.bytes) {
      let pos = 0;
      while (pos < f.bytes.length) {
        const v = readVarint(f.bytes, pos);
        out.push(Number(BigInt.asIntN(64, v.value)));
        pos = v.next;
      }
    }
  }
  return out;
}
