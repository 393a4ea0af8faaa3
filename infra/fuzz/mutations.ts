// One function per mutation. Each takes a valid base image and a seeded PRNG and returns the bytes to
// send, the Content-Type to send them with, and a short note of what it did (for failure reports).
// Structure-aware ones rewrite fields with valid lengths and CRCs so that parsers get past their checks.
import type { Base } from './bases.ts';
import { ascii, concat, put16be, put32be, putLe, splice, u32le } from './bytes.ts';
import {
  fixPngCrc,
  fixRiffSize,
  isJpegFrameHeader,
  jpegSegment,
  jpegSegments,
  pngChunk,
  pngChunks,
  riffChunk,
  riffChunks,
  type Span,
} from './formats.ts';
import type { Rng } from './prng.ts';

export interface Mutant {
  bytes: Uint8Array;
  /** undefined: send no Content-Type header. */
  contentType: string | undefined;
  detail: string;
}

type Mutation = (base: Base, r: Rng) => Mutant;

const same = (base: Base, bytes: Uint8Array, detail: string): Mutant => ({
  bytes,
  contentType: base.type,
  detail,
});

/** Structural spans of the base: PNG chunks, JPEG segments up to SOS, or RIFF chunks. */
function spansOf(base: Base, bytes: Uint8Array): Span[] {
  if (base.type === 'image/png') return pngChunks(bytes);
  if (base.type === 'image/jpeg') return jpegSegments(bytes);
  return riffChunks(bytes);
}

/** A chunk or segment boundary (never inside the signature), or anywhere for JPEG entropy data. */
function boundary(base: Base, bytes: Uint8Array, r: Rng): number {
  const spans = spansOf(base, bytes);
  if (spans.length === 0) return r.int(bytes.length + 1);
  const span = r.pick(spans);
  return r.chance(0.5) ? span.start : span.end;
}

/** A width or height: tiny, plausible, just over the edge's limits, or absurd; capped at the field's max. */
export function pickDimension(r: Rng, original: number, max: number): number {
  const choices = [
    () => 0,
    () => 1,
    () => r.range(2, 64),
    () => original * r.range(2, 8),
    () => r.range(1000, 2000),
    () => r.range(2001, 4096),
    () => r.range(4097, 16384),
    () => 16383,
    () => 65535,
    () => r.range(65536, 2 ** 24),
    () => 2 ** 31 - 1,
    () => r.int(2 ** 32),
  ];
  return Math.min(max, r.pick(choices)());
}

/** Both sides: one rewritten, or both (a third of the time both huge, to claim a giant canvas). */
function pickSize(r: Rng, base: Base, max: number): [number, number] {
  if (r.chance(0.3)) return [Math.min(max, r.range(20_000, 70_000)), Math.min(max, r.range(20_000, 70_000))];
  const w = r.chance(0.7) ? pickDimension(r, base.width, max) : base.width;
  const h = r.chance(0.7) ? pickDimension(r, base.height, max) : base.height;
  return [w, h];
}

const bitFlip: Mutation = (base, r) => {
  const bytes = base.bytes.slice();
  const flips = r.range(1, 8);
  // Half the time near the start, where the headers are.
  const region = r.chance(0.5) ? Math.min(bytes.length, 512) : bytes.length;
  const at: number[] = [];
  for (let i = 0; i < flips; i++) {
    const pos = r.int(region);
    bytes[pos] = (bytes[pos] ?? 0) ^ (1 << r.int(8));
    at.push(pos);
  }
  return same(base, bytes, `bits at ${at.join(',')}`);
};

const truncate: Mutation = (base, r) => {
  const spans = spansOf(base, base.bytes);
  let cut: number;
  if (r.chance(0.5) && spans.length > 0) {
    const span = r.pick(spans);
    cut = r.pick([span.start, span.data, span.end - 1, r.range(span.start, span.end)]);
  } else {
    cut = r.int(base.bytes.length);
  }
  return same(base, base.bytes.slice(0, cut), `cut at ${cut} of ${base.bytes.length}`);
};

const insertMarker: Mutation = (base, r) => {
  const at = boundary(base, base.bytes, r);
  const [name, insert] =
    base.type === 'image/jpeg'
      ? jpegMarker(base, r)
      : base.type === 'image/png'
        ? pngMarker(base, r)
        : webpMarker(base, r);
  const bytes = splice(base.bytes, at, at, insert);
  return same(
    base,
    base.type === 'image/webp' && r.chance(0.8) ? fixRiffSize(bytes) : bytes,
    `${name} at ${at}`,
  );
};

function jpegFrame(r: Rng, base: Base): Uint8Array {
  const [w, h] = pickSize(r, base, 0xffff);
  return jpegFrameOf(w, h, r.pick([0xc0, 0xc1, 0xc2]));
}

function jpegFrameOf(w: number, h: number, marker = 0xc0): Uint8Array {
  const payload = Uint8Array.of(8, 0, 0, 0, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1);
  put16be(payload, 1, h);
  put16be(payload, 3, w);
  return jpegSegment(marker, payload);
}

function jpegMarker(base: Base, r: Rng): [string, Uint8Array] {
  const stray = () => Uint8Array.from({ length: r.range(1, 4) }, () => r.int(0xff));
  const options: (() => [string, Uint8Array])[] = [
    () => ['SOF', jpegFrame(r, base)],
    () => ['stray+SOF', concat(stray(), jpegFrame(r, base))],
    () => ['APPn', jpegSegment(0xe0 + r.int(16), r.bytes(r.int(64)))],
    () => ['COM', jpegSegment(0xfe, r.bytes(r.int(64)))],
    () => ['fill', new Uint8Array(r.range(1, 8)).fill(0xff)],
    () => ['stray', stray()],
    () => ['RSTn', Uint8Array.of(0xff, 0xd0 + r.int(8))],
    () => ['FF00', Uint8Array.of(0xff, 0x00)],
    () => ['FF01', Uint8Array.of(0xff, 0x01)],
    () => ['EOI', Uint8Array.of(0xff, 0xd9)],
    () => ['SOI', Uint8Array.of(0xff, 0xd8)],
    () => ['DRI', jpegSegment(0xdd, Uint8Array.of(r.int(256), r.int(256)))],
    () => ['shadow-SOF', shadowFrame(r.range(1, 64), r.range(1, 64))],
  ];
  return r.pick(options)();
}

/**
 * A frame header that only a walker which reads FF 00 as a segment sees: FF 00 <length> spans the start
 * of an APP1 segment, which libjpeg (skipping FF 00 as garbage) reads, and whose payload is a small SOF.
 * Inserted before the real frame header, it makes a reader that takes the first SOF disagree with libjpeg.
 */
export function shadowFrame(width: number, height: number): Uint8Array {
  const frame = jpegFrameOf(width, height);
  const app1 = Uint8Array.of(0xff, 0xe1, 0, frame.length + 2);
  return concat(Uint8Array.of(0xff, 0x00, 0x00, 2 + app1.length), app1, frame);
}

function pngMarker(base: Base, r: Rng): [string, Uint8Array] {
  const u32 = (...values: number[]) => {
    const out = new Uint8Array(values.length * 4);
    values.forEach((v, i) => {
      put32be(out, i * 4, v);
    });
    return out;
  };
  const options: (() => [string, Uint8Array])[] = [
    () => {
      const [w, h] = pickSize(r, base, 2 ** 32 - 1);
      return [
        'IHDR',
        pngChunk('IHDR', concat(u32(w, h), Uint8Array.of(8, r.pick([0, 2, 3, 4, 6]), 0, 0, 0))),
      ];
    },
    () => ['IEND', pngChunk('IEND', new Uint8Array(0))],
    () => ['acTL', pngChunk('acTL', u32(r.pick([0, 1, 2, 1000, 2 ** 31]), 0))],
    () => {
      const [w, h] = pickSize(r, base, 2 ** 32 - 1);
      return ['fcTL', pngChunk('fcTL', concat(u32(0, w, h, 0, 0), new Uint8Array(6)))];
    },
    () => ['tRNS', pngChunk('tRNS', r.bytes(r.int(300)))],
    () => ['PLTE', pngChunk('PLTE', r.bytes(3 * r.int(300)))],
    () => ['IDAT', pngChunk('IDAT', r.bytes(r.int(64)))],
    () => ['zzZz', pngChunk('zzZz', r.bytes(r.int(64)))],
    () => ['bad-crc', splice(pngChunk('tEXt', ascii('a\0b')), 11, 15, r.bytes(4))],
  ];
  return r.pick(options)();
}

function webpMarker(base: Base, r: Rng): [string, Uint8Array] {
  const vp8x = () => {
    const [w, h] = pickSize(r, base, 2 ** 24);
    const data = new Uint8Array(10);
    data[0] = r.int(256) & 0x3e;
    putLe(data, 4, Math.max(0, w - 1), 3);
    putLe(data, 7, Math.max(0, h - 1), 3);
    return data;
  };
  const options: (() => [string, Uint8Array])[] = [
    () => ['VP8X', riffChunk('VP8X', vp8x())],
    () => ['ALPH', riffChunk('ALPH', r.bytes(r.int(64)))],
    () => ['ANMF', riffChunk('ANMF', concat(r.bytes(16), riffChunk('VP8L', r.bytes(r.int(32)))))],
    () => ['ICCP', riffChunk('ICCP', r.bytes(r.int(64)))],
    () => ['EXIF', riffChunk('EXIF', concat(ascii('MM\0*'), r.bytes(r.int(32))))],
    () => ['VP8L', riffChunk('VP8L', concat(Uint8Array.of(0x2f), r.bytes(r.int(32))))],
    () => ['junk', riffChunk('JUNK', r.bytes(r.int(65)))],
  ];
  return r.pick(options)();
}

const rewriteDimensions: Mutation = (base, r) => {
  const bytes = base.bytes.slice();
  if (base.type === 'image/png') {
    const targets = pngChunks(bytes).filter((c) => c.name === 'IHDR' || c.name === 'fcTL');
    const chunk = r.chance(0.7) ? targets[0] : r.pick(targets);
    if (!chunk) return same(base, bytes, 'no IHDR');
    const [w, h] = pickSize(r, base, 2 ** 32 - 1);
    const offset = chunk.name === 'fcTL' ? 4 : 0;
    put32be(bytes, chunk.data + offset, w);
    put32be(bytes, chunk.data + offset + 4, h);
    fixPngCrc(bytes, chunk);
    return same(base, bytes, `${chunk.name} ${w}x${h}`);
  }
  if (base.type === 'image/jpeg') {
    // A third of the time the new size hides behind a small shadow frame header (see shadowFrame); it is
    // then just past the limits but small enough for the decoder to allocate.
    const shadowed = r.chance(0.3);
    const [w, h] = shadowed ? [r.range(2001, 8000), r.range(2001, 8000)] : pickSize(r, base, 0xffff);
    const frames = jpegSegments(bytes).filter(isJpegFrameHeader);
    for (const sof of frames) {
      put16be(bytes, sof.data + 1, h);
      put16be(bytes, sof.data + 3, w);
    }
    const first = frames[0];
    if (first && shadowed) {
      const shadow = shadowFrame(r.range(1, 64), r.range(1, 64));
      return same(base, splice(bytes, first.start, first.start, shadow), `SOF ${w}x${h} behind a shadow SOF`);
    }
    return same(base, bytes, `SOF ${w}x${h}`);
  }
  return webpDimensions(base, bytes, r);
};

/** VP8 frame, VP8L header, VP8X canvas or ANMF frame sizes (each with its own field width). */
function webpDimensions(base: Base, bytes: Uint8Array, r: Rng): Mutant {
  const chunks = riffChunks(bytes);
  const nested = chunks
    .filter((c) => c.name === 'ANMF')
    .flatMap((c) => [c, ...riffChunks(bytes, c.data + 16, c.end)]);
  const fields = [...chunks, ...nested].filter((c) => ['VP8 ', 'VP8L', 'VP8X', 'ANMF'].includes(c.name));
  const chunk = r.pick(fields.length > 0 ? fields : chunks);
  if (!chunk) return same(base, bytes, 'no chunk');
  let w = 0;
  let h = 0;
  if (chunk.name === 'VP8 ') {
    [w, h] = pickSize(r, base, 0x3fff);
    putLe(bytes, chunk.data + 6, w | (r.int(4) << 14), 2);
    putLe(bytes, chunk.data + 8, h | (r.int(4) << 14), 2);
  } else if (chunk.name === 'VP8L') {
    [w, h] = pickSize(r, base, 0x4000);
    const old = u32le(bytes, chunk.data + 1);
    const packed = (Math.max(0, w - 1) | (Math.max(0, h - 1) << 14) | (old & 0xf0000000)) >>> 0;
    putLe(bytes, chunk.data + 1, packed, 4);
  } else if (chunk.name === 'VP8X' || chunk.name === 'ANMF') {
    [w, h] = pickSize(r, base, 2 ** 24);
    const at = chunk.name === 'VP8X' ? chunk.data + 4 : chunk.data + 6;
    putLe(bytes, at, Math.max(0, w - 1), 3);
    putLe(bytes, at + 3, Math.max(0, h - 1), 3);
  }
  return same(base, bytes, `${chunk.name.trim()} ${w}x${h}`);
}

const duplicateChunk: Mutation = (base, r) => {
  const spans = spansOf(base, base.bytes);
  const span = spans.length > 0 ? r.pick(spans) : undefined;
  if (!span) return same(base, base.bytes.slice(), 'nothing to duplicate');
  const copy = base.bytes.slice(span.start, span.end);
  const at = boundary(base, base.bytes, r);
  const bytes = splice(base.bytes, at, at, copy);
  return same(
    base,
    base.type === 'image/webp' ? fixRiffSize(bytes) : bytes,
    `${span.name.trim()} copied to ${at}`,
  );
};

const trailingGarbage: Mutation = (base, r) => {
  const options: (() => [string, Uint8Array])[] = [
    () => ['random', r.bytes(r.range(1, 4096))],
    () => ['zeros', new Uint8Array(r.range(1, 65536))],
    () => ['self', base.bytes],
    () => ['png-signature', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)],
    () => ['jpeg-soi', Uint8Array.of(0xff, 0xd8, 0xff, 0xe0)],
  ];
  const [name, tail] = r.pick(options)();
  return same(base, concat(base.bytes, tail), `${name} x${tail.length}`);
};

const CONTENT_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'text/plain',
  'application/octet-stream',
  'image/jpeg; charset=utf-8',
  'IMAGE/PNG',
  'image/*',
  '',
  undefined,
] as const;

const wrongContentType: Mutation = (base, r) => {
  const others = CONTENT_TYPES.filter((t) => t !== base.type);
  const contentType = r.pick(others);
  return { bytes: base.bytes.slice(), contentType, detail: `sent as ${String(contentType)}` };
};

/** PNG chunk lengths, JPEG segment lengths and RIFF sizes that disagree with what follows. */
const lengthField: Mutation = (base, r) => {
  const bytes = base.bytes.slice();
  const value = r.pick([0, 1, 2, r.int(256), r.int(65536), 0xffff, 0x7fffffff, 0xffffffff]);
  if (base.type === 'image/webp' && r.chance(0.4)) {
    putLe(bytes, 4, value, 4);
    return same(base, bytes, `RIFF size ${value}`);
  }
  const span = r.pick(spansOf(base, bytes));
  if (base.type === 'image/png') put32be(bytes, span.start, value);
  else if (base.type === 'image/jpeg') put16be(bytes, span.start + 2, value & 0xffff);
  else putLe(bytes, span.start + 4, value, 4);
  return same(base, bytes, `${span.name.trim()} length ${value}`);
};

export const MUTATIONS = {
  'bit-flip': bitFlip,
  truncate,
  'insert-marker': insertMarker,
  dimensions: rewriteDimensions,
  'duplicate-chunk': duplicateChunk,
  'trailing-garbage': trailingGarbage,
  'content-type': wrongContentType,
  'length-field': lengthField,
} satisfies Record<string, Mutation>;

export type MutationName = keyof typeof MUTATIONS;
export const MUTATION_NAMES = Object.keys(MUTATIONS) as MutationName[];
