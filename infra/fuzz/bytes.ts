// Byte helpers for the container walkers and mutations: big/little-endian fields, splicing, CRC-32.
import { crc32 } from 'node:zlib';

export const u16be = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
export const u32be = (b: Uint8Array, at: number) => ((u16be(b, at) << 16) | u16be(b, at + 2)) >>> 0;
export const u32le = (b: Uint8Array, at: number) =>
  ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> 0;

export function put16be(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}
export function put32be(b: Uint8Array, at: number, v: number): void {
  put16be(b, at, v >>> 16);
  put16be(b, at + 2, v & 0xffff);
}
export function putLe(b: Uint8Array, at: number, v: number, size: number): void {
  for (let i = 0; i < size; i++) b[at + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `bytes` with [start, end) replaced by `insert`. */
export function splice(
  bytes: Uint8Array,
  start: number,
  end: number,
  insert: Uint8Array = new Uint8Array(0),
) {
  return concat(bytes.subarray(0, start), insert, bytes.subarray(end));
}

export const ascii = (text: string) => Uint8Array.from(text, (ch) => ch.charCodeAt(0));
export const fourcc = (b: Uint8Array, at: number) => String.fromCharCode(...b.subarray(at, at + 4));

export function crc(bytes: Uint8Array): number {
  return crc32(bytes) >>> 0;
}
