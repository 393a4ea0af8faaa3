import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../edge/image/errors.ts';
import { checkByteLength, checkDimensions, DEFAULT_LIMITS } from '../../edge/image/limits.ts';
import { probeImage } from '../../edge/image/probe.ts';
import { sniffImageType } from '../../shared/image/sniff.ts';

const WIDTH = 45;
const HEIGHT = 31;
const base = () => sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#3366aa' } });
const bytes = async (p: Promise<Buffer>) => new Uint8Array(await p);

function expectImageError(fn: () => unknown, code: ImageError['code']): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ImageError);
  expect((caught as ImageError).code).toBe(code);
}

describe('sniffImageType', () => {
  it('recognises each format by its magic bytes', async () => {
    expect(sniffImageType(await bytes(base().jpeg().toBuffer()))).toBe('image/jpeg');
    expect(sniffImageType(await bytes(base().png().toBuffer()))).toBe('image/png');
    expect(sniffImageType(await bytes(base().webp().toBuffer()))).toBe('image/webp');
  });

  it('rejects other content', async () => {
    expect(sniffImageType(new Uint8Array())).toBeUndefined();
    expect(
      sniffImageType(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>')),
    ).toBeUndefined();
    expect(sniffImageType(await bytes(base().gif().toBuffer()))).toBeUndefined();
    expect(sniffImageType(new TextEncoder().encode('RIFF\0\0\0\0WAVEfmt '))).toBeUndefined();
  });
});

describe('probeImage', () => {
  const formats: [string, () => Promise<Buffer>][] = [
    ['baseline JPEG', () => base().jpeg().toBuffer()],
    ['progressive JPEG', () => base().jpeg({ progressive: true }).toBuffer()],
    ['greyscale JPEG', () => base().grayscale().jpeg().toBuffer()],
    ['PNG', () => base().png().toBuffer()],
    ['16-bit PNG', () => base().png({ palette: false }).toColourspace('rgb16').toBuffer()],
    ['lossy WebP (VP8)', () => base().webp().toBuffer()],
    ['lossless WebP (VP8L)', () => base().webp({ lossless: true }).toBuffer()],
    ['WebP with alpha (VP8X)', () => base().ensureAlpha(0.5).webp().toBuffer()],
  ];
  for (const [name, make] of formats) {
    it(`reads the size of a ${name}`, async () => {
      const probe = probeImage(await bytes(make()));
      expect([probe.width, probe.height, probe.orientation]).toEqual([WIDTH, HEIGHT, 1]);
    });
  }

  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`reads EXIF orientation ${orientation} from JPEG, PNG and WebP`, async () => {
      const tagged = () => base().withMetadata({ orientation });
      for (const encoded of [tagged().jpeg(), tagged().png(), tagged().webp()]) {
        const probe = probeImage(await bytes(encoded.toBuffer()));
        // Dimensions are as stored: orientation is applied at decode time.
        expect(probe).toMatchObject({ width: WIDTH, height: HEIGHT, orientation });
      }
    });
  }

  it('answers unsupported_media_type for non-images and unsupported variants', async () => {
    expectImageError(() => probeImage(new Uint8Array([1, 2, 3])), 'unsupported_media_type');
    expectImageError(() => probeImage(new Uint8Array()), 'unsupported_media_type');
    const cmyk = await bytes(base().toColourspace('cmyk').jpeg().toBuffer());
    expectImageError(() => probeImage(cmyk), 'unsupported_media_type');
    // An animated WebP: set the VP8X animation flag.
    const webp = await bytes(base().ensureAlpha(0.5).webp().toBuffer());
    expect(String.fromCharCode(...webp.subarray(12, 16))).toBe('VP8X');
    webp[20] = (webp[20] as number) | 0x02;
    expectImageError(() => probeImage(webp), 'unsupported_media_type');
  });

  it('answers invalid_image for truncated headers', async () => {
    const jpeg = await bytes(base().jpeg().toBuffer());
    const png = await bytes(base().png().toBuffer());
    const webp = await bytes(base().webp().toBuffer());
    for (const cut of [3, 4, 10, 40])
      expectImageError(() => probeImage(jpeg.subarray(0, cut)), 'invalid_image');
    for (const cut of [8, 12, 20, 30])
      expectImageError(() => probeImage(png.subarray(0, cut)), 'invalid_image');
    for (const cut of [12, 16, 24, 28])
      expectImageError(() => probeImage(webp.subarray(0, cut)), 'invalid_image');
  });

  it('answers invalid_image for corrupted headers', async () => {
    const png = await bytes(base().png().toBuffer());
    const badChunk = png.slice();
    badChunk[15] = 0x58; // IHDR → IHDX
    expectImageError(() => probeImage(badChunk), 'invalid_image');
    const zeroWidth = png.slice();
    zeroWidth.fill(0, 16, 20);
    expectImageError(() => probeImage(zeroWidth), 'invalid_image');

    const webp = await bytes(base().webp().toBuffer());
    const badStart = webp.slice();
    badStart[23] = 0; // VP8 start code 9D 01 2A
    expectImageError(() => probeImage(badStart), 'invalid_image');

    const jpeg = await bytes(base().jpeg().toBuffer());
    const badLength = jpeg.slice();
    badLength[4] = 0; // first segment's length → 0
    badLength[5] = 1;
    expectImageError(() => probeImage(badLength), 'invalid_image');
    // SOI followed straight by EOI.
    expectImageError(() => probeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), 'invalid_image');
  });

  it('treats an unreadable EXIF block as orientation 1 rather than rejecting the image', async () => {
    const jpeg = await bytes(base().withMetadata({ orientation: 6 }).jpeg().toBuffer());
    const exifAt = Buffer.from(jpeg).indexOf('Exif\0\0');
    expect(exifAt).toBeGreaterThan(0);
    jpeg[exifAt + 6] = 0x41; // byte-order mark "II"/"MM" → garbage
    expect(probeImage(jpeg)).toMatchObject({ width: WIDTH, height: HEIGHT, orientation: 1 });
  });
});

describe('limits', () => {
  it('accepts images within the defaults', () => {
    expect(() => checkDimensions({ width: 4000, height: 4000 })).not.toThrow();
    expect(() => checkDimensions({ width: 10_000, height: 1_600 })).not.toThrow();
    expect(() => checkByteLength(DEFAULT_LIMITS.maxBytes)).not.toThrow();
  });

  it('rejects too long a side, too many pixels or too many bytes as image_too_large', () => {
    expectImageError(() => checkDimensions({ width: 10_001, height: 10 }), 'image_too_large');
    expectImageError(() => checkDimensions({ width: 10, height: 10_001 }), 'image_too_large');
    expectImageError(() => checkDimensions({ width: 5000, height: 3201 }), 'image_too_large');
    expectImageError(() => checkByteLength(DEFAULT_LIMITS.maxBytes + 1), 'image_too_large');
    expectImageError(
      () => checkDimensions({ width: 100, height: 100 }, { ...DEFAULT_LIMITS, maxPixels: 9_999 }),
      'image_too_large',
    );
  });

  it('judges a huge image from its header alone', async () => {
    // 20000 x 20000 declared in the header; no pixels are decoded to find out.
    const png = await bytes(
      sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    );
    new DataView(png.buffer, png.byteOffset).setUint32(16, 20_000);
    new DataView(png.buffer, png.byteOffset).setUint32(20, 20_000);
    expectImageError(() => checkDimensions(probeImage(png)), 'image_too_large');
  });
});
