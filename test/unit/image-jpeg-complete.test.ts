import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../edge/image/errors.ts';
import { assertJpegComplete } from '../../edge/image/jpeg-complete.ts';

async function jpeg(options: { progressive?: boolean; orientation?: number } = {}): Promise<Uint8Array> {
  const noise = new Uint8Array(64 * 48 * 3).map((_, i) => (i * 37) % 251);
  let image = sharp(noise, { raw: { width: 64, height: 48, channels: 3 } }).jpeg({
    quality: 90,
    progressive: options.progressive ?? false,
  });
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation });
  return new Uint8Array(await image.toBuffer());
}

function expectInvalid(bytes: Uint8Array): void {
  expect(() => assertJpegComplete(bytes)).toThrow(ImageError);
  try {
    assertJpegComplete(bytes);
  } catch (error) {
    expect((error as ImageError).code).toBe('invalid_image');
  }
}

describe('assertJpegComplete', () => {
  it('accepts whole baseline, progressive and EXIF-tagged JPEGs, and trailing bytes after the end', async () => {
    for (const bytes of [await jpeg(), await jpeg({ progressive: true }), await jpeg({ orientation: 6 })]) {
      expect(() => assertJpegComplete(bytes)).not.toThrow();
      const withTrailer = new Uint8Array([...bytes, 1, 2, 3, 4]);
      expect(() => assertJpegComplete(withTrailer)).not.toThrow();
    }
  });

  it('rejects a JPEG cut inside its pixel data, at any point after the scan header', async () => {
    const bytes = await jpeg({ progressive: true });
    for (const keep of [0.5, 0.8, 0.99]) expectInvalid(bytes.subarray(0, Math.floor(bytes.length * keep)));
    expectInvalid(bytes.subarray(0, bytes.length - 1));
  });

  it('rejects a JPEG with headers only', async () => {
    const bytes = await jpeg();
    const sos = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xda);
    expectInvalid(bytes.subarray(0, sos));
  });
});
