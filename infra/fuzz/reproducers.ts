// Generators of inputs for defect classes the fuzzer aims at, used as regression tests: each is made at
// run time from a valid image plus one targeted edit, and must get a 200 or a 4xx envelope without the
// workerd process growing past a bound.
import sharp from 'sharp';
import type { Base } from './bases.ts';
import { put16be, put32be, putLe, splice } from './bytes.ts';
import {
  fixPngCrc,
  fixRiffSize,
  type ImageType,
  isJpegFrameHeader,
  jpegSegments,
  pngChunks,
  riffChunk,
  riffChunks,
} from './formats.ts';
import { shadowFrame } from './mutations.ts';

export interface Reproducer {
  name: string;
  /** What a broken edge does with it. */
  defect: string;
  bytes: Uint8Array;
  contentType: ImageType;
}

const baseNamed = (bases: readonly Base[], name: string): Base => {
  const base = bases.find((b) => b.name === name);
  if (!base) throw new Error(`no base named ${name}`);
  return base;
};

/** The JPEG's frame header rewritten to width x height (its scan data stays that of the small image). */
export function jpegClaiming(base: Base, width: number, height: number): Uint8Array {
  const bytes = base.bytes.slice();
  const frame = jpegSegments(bytes).find(isJpegFrameHeader);
  if (!frame) throw new Error(`${base.name} has no frame header`);
  put16be(bytes, frame.data + 1, height);
  put16be(bytes, frame.data + 3, width);
  return bytes;
}

/** The same, hidden behind a 16x16 shadow frame header that only a walker misreading FF 00 sees. */
export function jpegBehindShadowFrame(base: Base, width: number, height: number): Uint8Array {
  const bytes = jpegClaiming(base, width, height);
  const frame = jpegSegments(bytes).find(isJpegFrameHeader);
  if (!frame) throw new Error(`${base.name} has no frame header`);
  return splice(bytes, frame.start, frame.start, shadowFrame(16, 16));
}

/** A PNG chunk's width and height fields (IHDR at 0, fcTL at 4) rewritten, with a valid CRC. */
export function pngClaiming(
  base: Base,
  chunkName: 'IHDR' | 'fcTL',
  width: number,
  height: number,
): Uint8Array {
  const bytes = base.bytes.slice();
  const chunk = pngChunks(bytes).find((c) => c.name === chunkName);
  if (!chunk) throw new Error(`${base.name} has no ${chunkName}`);
  const at = chunk.data + (chunkName === 'fcTL' ? 4 : 0);
  put32be(bytes, at, width);
  put32be(bytes, at + 4, height);
  fixPngCrc(bytes, chunk);
  return bytes;
}

/** A simple-format WebP wrapped in VP8X whose canvas claims width x height (the frame keeps its size). */
export function webpWithCanvas(base: Base, width: number, height: number): Uint8Array {
  const vp8 = riffChunks(base.bytes).find((c) => c.name === 'VP8 ' || c.name === 'VP8L');
  if (!vp8) throw new Error(`${base.name} is not a simple WebP`);
  const canvas = new Uint8Array(10);
  putLe(canvas, 4, width - 1, 3);
  putLe(canvas, 7, height - 1, 3);
  const head = base.bytes.slice(0, 12);
  return fixRiffSize(
    Uint8Array.from([...head, ...riffChunk('VP8X', canvas), ...base.bytes.subarray(vp8.start, vp8.end)]),
  );
}

/** A ~1 MP noisy RGB PNG cut in the middle of its image data: the decoder fails after allocating. */
export async function truncatedPng(width = 1024, height = 1024): Promise<Uint8Array> {
  const raw = Buffer.alloc(width * height * 3);
  let seed = 7;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    raw[i] = ((i % (width * 3)) >> 2) + (seed & 31);
  }
  const png = new Uint8Array(
    await sharp(raw, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return png.subarray(0, Math.floor(png.length * 0.6));
}

/** One input per header-versus-decoder disagreement the edge must catch before it decodes. */
export function headerReproducers(bases: readonly Base[]): Reproducer[] {
  const jpeg = baseNamed(bases, 'jpeg-baseline');
  const png = baseNamed(bases, 'png-palette');
  const apng = baseNamed(bases, 'png-apng');
  const webp = baseNamed(bases, 'webp-lossy');
  return [
    {
      name: 'jpeg-shadow-frame-6000x6000',
      defect: 'the probe reads a 16x16 shadow frame header; libjpeg allocates the real 6000x6000 frame',
      bytes: jpegBehindShadowFrame(jpeg, 6000, 6000),
      contentType: 'image/jpeg',
    },
    {
      name: 'jpeg-sof-4000x4000',
      defect: 'a frame header over the pixel limit must be refused from the header',
      bytes: jpegClaiming(jpeg, 4000, 4000),
      contentType: 'image/jpeg',
    },
    {
      name: 'png-ihdr-30000x30000',
      defect: 'IHDR over the pixel limit (valid CRC) must be refused before the decoder allocates',
      bytes: pngClaiming(png, 'IHDR', 30000, 30000),
      contentType: 'image/png',
    },
    {
      name: 'apng-fctl-30000x30000',
      defect: 'an APNG frame control chunk larger than IHDR',
      bytes: pngClaiming(apng, 'fcTL', 30000, 30000),
      contentType: 'image/png',
    },
    {
      name: 'webp-vp8x-canvas-16x16',
      defect: 'a VP8X canvas smaller than its 512x384 frame: the probe trusts the canvas',
      bytes: webpWithCanvas(webp, 16, 16),
      contentType: 'image/webp',
    },
  ];
}
