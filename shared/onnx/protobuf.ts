// Minimal protocol-buffers encoder. Large byte payloads (tensor data) are kept by reference as separate
// chunks so a multi-hundred-megabyte model is never copied just to be framed.

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH = 2;

const utf8 = new TextEncoder();

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(256);
  private used = 0;
  private flushedBytes = 0;

  /** Total encoded length so far. */
  get length(): number {
    return this.flushedBytes + this.used;
  }

  private ensure(extra: number): void {
    if (this.used + extra <= this.scratch.length) return;
    this.flush();
    if (extra > this.scratch.length) this.scratch = new Uint8Array(Math.max(extra, this.scratch.length * 2));
  }

  private flush(): void {
    if (this.used === 0) return;
    this.chunks.push(this.scratch.slice(0, this.used));
    this.flushedBytes += this.used;
    this.used = 0;
  }

  private rawVarint(value: number | bigint): void {
    this.ensure(10);
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
      let v = value;
      while (v >= 0x80) {
        this.scratch[this.used++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.scratch[this.used++] = v;
      return;
    }
    // Negative int64 values are written as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch[this.used++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.used++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    new DataView(this.scratch.buffer).setFloat32(this.used, value, true);
    this.used += 4;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Length-delimited bytes; payloads over 4 KiB are referenced, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH);
    this.rawVarint(value.length);
    if (value.length > 4096) {
      this.flush();
      this.chunks.push(value);
      this.flushedBytes += value.length;
    } else {
      this.ensure(value.length);
      this.scratch.set(value, this.used);
      this.used += value.length;
    }
    return this;
  }

  message(field: number, child: ProtoWriter): this {
    this.tag(field, WIRE_LENGTH);
    this.rawVarint(child.length);
    this.flush();
    const parts = child.finish();
    for (const part of parts) this.chunks.push(part);
    this.flushedBytes += child.length;
    return this;
  }

  /** The encoded message as a list of chunks (concatenate, or write them in order). */
  finish(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }
}

export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
