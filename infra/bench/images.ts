// Test images: a real photo from ../shared/data/imagenet-val-100 when present, otherwise a generated
// JPEG; plus deliberately broken files. Nothing is stored in the repository.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { RgbImage } from '../../shared/preprocess/index.ts';
import { REPO_ROOT } from '../models/build.ts';

const VAL_DIR = path.resolve(REPO_ROOT, '../shared/data/imagenet-val-100/images');

export interface TestPhoto {
  bytes: Uint8Array<ArrayBuffer>;
  source: string;
}

/** A JPEG photo; prints which one so a skipped real-photo path is visible. */
export async function testPhoto(): Promise<TestPhoto> {
  if (existsSync(VAL_DIR)) {
    const first = readdirSync(VAL_DIR)
      .filter((name) => /\.jpe?g$/i.test(name))
      .sort()[0];
    if (first)
      return {
        bytes: new Uint8Array(await readFile(path.join(VAL_DIR, first))),
        source: `imagenet-val-100/${first}`,
      };
  }
  console.log(`${VAL_DIR} is absent: using a generated JPEG instead of a real photo`);
  return { bytes: await generatedJpeg(640, 480), source: 'generated 640x480' };
}

/** A smooth colour field with some structure, encoded as a baseline JPEG. */
export async function generatedJpeg(width: number, height: number): Promise<Uint8Array<ArrayBuffer>> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 255) / width;
      pixels[i + 1] = (y * 255) / height;
      pixels[i + 2] = 128 + 127 * Math.sin((x + y) / 17);
    }
  }
  const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  return new Uint8Array(jpeg);
}

/** A PNG whose header claims width x height, with no pixel data worth decoding. */
export function pngHeaderOnly(width: number, height: number): Uint8Array<ArrayBuffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method quirks, no interlace
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A ~170-byte greyscale JPEG on which a marker walk that reads FF 00 as a segment and libjpeg disagree:
 * libjpeg skips the stuffed FF 00 and the bytes after it, finds a `width` x `height` frame header, and
 * an APP0 segment that swallows the 16x16 frame header such a walk would find next. Its scan holds
 * a few blocks, then EOI: libjpeg warns about the missing data and fills the rest of the frame with grey.
 * `lead` replaces the FF 00 prefix to build the other variants (stray bytes, FF 01, RSTn).
 */
export function jpegHiddenFrame(
  width = 8000,
  height = 8000,
  lead: readonly number[] = [0xff, 0x00],
): Uint8Array<ArrayBuffer> {
  const u16 = (n: number) => [n >> 8, n & 0xff];
  const frame = (w: number, h: number) => [0xff, 0xc0, ...u16(11), 8, ...u16(h), ...u16(w), 1, 1, 0x11, 0];
  const hidden = [...frame(width, height), 0xff, 0xe0, ...u16(2 + 13)]; // APP0 covers the next frame header
  const huffman = (tableClass: number) => [
    0xff,
    0xc4,
    ...u16(20),
    tableClass,
    1,
    ...new Array(15).fill(0),
    0,
  ];
  const bytes = [
    0xff,
    0xd8,
    ...lead,
    ...u16(2 + hidden.length), // read as a segment length by a lenient walk; skipped as junk by libjpeg
    ...hidden,
    ...frame(16, 16),
    ...[0xff, 0xdb, ...u16(67), 0, ...new Array(64).fill(1)],
    ...huffman(0x00),
    ...huffman(0x10),
    ...[0xff, 0xda, ...u16(8), 1, 1, 0, 0, 63, 0],
    ...new Array(8).fill(0),
    0xff,
    0xd9,
  ];
  return new Uint8Array(bytes);
}

/** Inserts `extra` bytes at `offset` (marker insertion, stray bytes). */
export function spliced(
  bytes: Uint8Array,
  offset: number,
  extra: readonly number[],
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes.subarray(0, offset));
  out.set(extra, offset);
  out.set(bytes.subarray(offset), offset + extra.length);
  return out;
}

/** A PNG with `type` chunk (data given) inserted before its first IDAT. */
export function pngWithChunk(png: Uint8Array, type: string, data: Buffer): Uint8Array<ArrayBuffer> {
  const at = Buffer.from(png).indexOf(Buffer.from('IDAT', 'ascii')) - 4;
  return spliced(png, at, [...chunk(type, data)]);
}

/** Smooth gradients plus seeded noise as raw RGB: the values do not change a resize's work, only keep it honest. */
export function noisyGradient(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let seed = 7;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = ((i % (width * 3)) / 12 + (seed % 40)) & 0xff;
  }
  return { width, height, channels: 3, data };
}
