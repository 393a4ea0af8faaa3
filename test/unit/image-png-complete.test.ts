import { crc32 as zlibCrc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../edge/image/crc32.ts';
import { ImageError } from '../../edge/image/errors.ts';
import { assertPngComplete } from '../../edge/image/png-complete.ts';
import { type Base, makeBases } from '../../infra/fuzz/bases.ts';
import { ascii, concat, splice } from '../../infra/fuzz/bytes.ts';
import { pngChunk, pngChunks } from '../../infra/fuzz/formats.ts';

let pngs: Base[];
let palette: Uint8Array;

beforeAll(async () => {
  pngs = (await makeBases()).filter((b) => b.type === 'image/png');
  palette = (pngs.find((b) => b.name === 'png-palette') as Base).bytes;
});

function rejection(bytes: Uint8Array): string {
  try {
    assertPngComplete(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe('invalid_image');
    return (error as ImageError).message;
  }
  throw new Error('the PNG was accepted');
}

const chunkNamed = (bytes: Uint8Array, name: string) => {
  const chunk = pngChunks(bytes).find((c) => c.name === name);
  if (!chunk) throw new Error(`no ${name} chunk`);
  return chunk;
};

/** The PNG with its IDAT split into two IDAT chunks, and `between` inserted between them. */
function splitIdat(bytes: Uint8Array, between: Uint8Array = new Uint8Array(0)): Uint8Array {
  const idat = chunkNamed(bytes, 'IDAT');
  const data = bytes.subarray(idat.data, idat.end - 4);
  const half = data.length >> 1;
  const parts = concat(
    pngChunk('IDAT', data.subarray(0, half)),
    between,
    pngChunk('IDAT', data.subarray(half)),
  );
  return splice(bytes, idat.start, idat.end, parts);
}

describe('crc32', () => {
  it('matches zlib on empty, short and long inputs and on sub-ranges', () => {
    const noise = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24);
    for (const bytes of [new Uint8Array(0), ascii('IEND'), ascii('123456789'), noise])
      expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926); // the standard check value
    expect(crc32(noise, 17, 5000)).toBe(zlibCrc32(noise.subarray(17, 5000)) >>> 0);
  });
});

describe('assertPngComplete', () => {
  it('accepts palette, tRNS, 16-bit, interlaced and APNG files whole', () => {
    expect(pngs.map((b) => b.name).sort()).toEqual([
      'png-16bit',
      'png-apng',
      'png-interlaced',
      'png-palette',
      'png-trns',
    ]);
    for (const png of pngs) expect(assertPngComplete(png.bytes), png.name).toBe(png.bytes.length);
  });

  it('accepts image data split over contiguous IDAT chunks', () => {
    const split = splitIdat(palette);
    expect(pngChunks(split).filter((c) => c.name === 'IDAT')).toHaveLength(2);
    expect(assertPngComplete(split)).toBe(split.length);
  });

  it('ignores bytes after IEND, as libpng does, and reports where IEND ends', () => {
    const trailing = concat(palette, ascii('trailing garbage'), palette);
    expect(assertPngComplete(trailing)).toBe(palette.length);
  });

  it('refuses a PNG cut at any point before the end of IEND as truncated', () => {
    const idat = chunkNamed(palette, 'IDAT');
    const cuts = [8, 20, 33, idat.start, idat.start + 7, idat.data + 10, idat.end - 1, idat.end];
    cuts.push(palette.length - 12, palette.length - 5, palette.length - 1);
    for (const cut of cuts) {
      expect(rejection(palette.subarray(0, cut)), `cut at ${cut}`).toMatch(
        /^PNG ends before IEND \(truncated/,
      );
    }
    expect(rejection(palette.subarray(0, idat.data + 10))).toBe(
      `PNG ends before IEND (truncated inside the IDAT chunk at offset ${idat.start})`,
    );
  });

  it('refuses a chunk whose data or CRC was altered, naming the chunk and its offset', () => {
    const idat = chunkNamed(palette, 'IDAT');
    const flipped = palette.slice();
    flipped[idat.data + 3] = (flipped[idat.data + 3] as number) ^ 0x10;
    expect(rejection(flipped)).toBe(`PNG chunk IDAT at offset ${idat.start} has a bad CRC`);
    const badCrc = palette.slice();
    badCrc[palette.length - 1] = (badCrc[palette.length - 1] as number) ^ 1; // IEND's CRC
    expect(rejection(badCrc)).toBe(`PNG chunk IEND at offset ${palette.length - 12} has a bad CRC`);
  });

  it('refuses a missing IEND, a missing IDAT and IDAT chunks that are not contiguous', () => {
    expect(rejection(palette.subarray(0, palette.length - 12))).toBe('PNG ends before IEND (truncated)');
    const idat = chunkNamed(palette, 'IDAT');
    expect(rejection(splice(palette, idat.start, idat.end))).toBe(
      'PNG has no image data (no IDAT chunk before IEND)',
    );
    const text = pngChunk('tEXt', ascii('Comment\0between'));
    const broken = splitIdat(palette, text);
    const second = pngChunks(broken).filter((c) => c.name === 'IDAT')[1];
    expect(rejection(broken)).toBe(
      `PNG chunk IDAT at offset ${second?.start} is not contiguous with the earlier IDAT`,
    );
  });

  it('refuses impossible lengths and chunk types that are not letters', () => {
    const idat = chunkNamed(palette, 'IDAT');
    const huge = palette.slice();
    new DataView(huge.buffer).setUint32(idat.start, 0xffffffff);
    expect(rejection(huge)).toBe(
      `PNG ends before IEND (truncated inside the IDAT chunk at offset ${idat.start})`,
    );
    const badType = palette.slice();
    badType[idat.start + 5] = 0x31; // "I1AT"
    expect(rejection(badType)).toBe(
      `PNG chunk at offset ${idat.start} has an invalid type (not four ASCII letters)`,
    );
  });
});
