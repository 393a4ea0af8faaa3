// Just enough structure of PNG, JPEG and RIFF/WebP for structure-aware mutations: where the chunks,
// segments and header fields are, and how to write one back with valid lengths and CRCs.
import { ascii, concat, crc, fourcc, put32be, putLe, u16be, u32be, u32le } from './bytes.ts';

export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp';

export interface Span {
  /** Where the chunk or segment starts (its length or marker). */
  start: number;
  /** One past its last byte (PNG: after the CRC; RIFF: after the pad byte). */
  end: number;
  /** PNG chunk type, RIFF fourcc, or JPEG marker as "FFxx". */
  name: string;
  /** Where its payload starts. */
  data: number;
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export function pngChunks(b: Uint8Array): Span[] {
  const spans: Span[] = [];
  for (let at = 8; at + 12 <= b.length; ) {
    const length = u32be(b, at);
    const end = at + 12 + length;
    if (end > b.length) break;
    spans.push({ start: at, end, name: fourcc(b, at + 4), data: at + 8 });
    at = end;
  }
  return spans;
}

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  put32be(out, 0, data.length);
  out.set(ascii(type), 4);
  out.set(data, 8);
  put32be(out, 8 + data.length, crc(out.subarray(4, 8 + data.length)));
  return out;
}

/** Recomputes the CRC of the chunk at `span` after its type or data was edited in place. */
export function fixPngCrc(b: Uint8Array, span: Span): void {
  put32be(b, span.end - 4, crc(b.subarray(span.start + 4, span.end - 4)));
}

/** JPEG marker segments from SOI up to and including the first SOS (entropy-coded data follows it). */
export function jpegSegments(b: Uint8Array): Span[] {
  const spans: Span[] = [];
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff) {
    const marker = b[at + 1] ?? 0;
    if (marker === 0xd9) break;
    const end = at + 2 + u16be(b, at + 2);
    if (end > b.length) break;
    spans.push({ start: at, end, name: `FF${marker.toString(16).toUpperCase()}`, data: at + 4 });
    if (marker === 0xda) break;
    at = end;
  }
  return spans;
}

export const isJpegFrameHeader = (s: Span) => /^FFC[0-35-79A-BD-F]$/.test(s.name);

export function jpegSegment(marker: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out[0] = 0xff;
  out[1] = marker;
  out[2] = ((payload.length + 2) >>> 8) & 0xff;
  out[3] = (payload.length + 2) & 0xff;
  out.set(payload, 4);
  return out;
}

/** RIFF chunks after the "RIFF size WEBP" header (and inside ANMF frames when `inside` is given). */
export function riffChunks(b: Uint8Array, from = 12, to = b.length): Span[] {
  const spans: Span[] = [];
  for (let at = from; at + 8 <= to; ) {
    const size = u32le(b, at + 4);
    const end = at + 8 + size + (size & 1);
    if (at + 8 + size > to) break;
    spans.push({ start: at, end: Math.min(end, to), name: fourcc(b, at), data: at + 8 });
    at = end;
  }
  return spans;
}

export function riffChunk(name: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length + (data.length & 1));
  out.set(ascii(name.padEnd(4, ' ').slice(0, 4)), 0);
  putLe(out, 4, data.length, 4);
  out.set(data, 8);
  return out;
}

/** Makes the RIFF header's size field match the file again after chunks were added or removed. */
export function fixRiffSize(b: Uint8Array): Uint8Array {
  if (b.length >= 8) putLe(b, 4, b.length - 8, 4);
  return b;
}

export function sniff(b: Uint8Array): ImageType | undefined {
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  if (PNG_SIGNATURE.every((v, i) => b[i] === v)) return 'image/png';
  if (fourcc(b, 0) === 'RIFF' && fourcc(b, 8) === 'WEBP') return 'image/webp';
  return undefined;
}

export { concat };
