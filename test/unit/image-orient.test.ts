import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { applyOrientation } from '../../edge/image/orient.ts';

// sharp's .rotate() (libvips autorotate) is the reference for every EXIF orientation. Both sides start from
// the same decoded pixels, so the comparison is exact.
describe('applyOrientation', () => {
  const raw = Buffer.alloc(7 * 5 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) & 0xff;

  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`matches sharp's autorotation for orientation ${orientation}`, async () => {
      const png = await sharp(raw, { raw: { width: 7, height: 5, channels: 3 } })
        .withMetadata({ orientation })
        .png()
        .toBuffer();
      const upright = await sharp(png).rotate().raw().toBuffer({ resolveWithObject: true });
      const rgba = await sharp(png).ensureAlpha().raw().toBuffer();

      const ours = applyOrientation(
        { width: 7, height: 5, channels: 4, data: new Uint8Array(rgba) },
        orientation,
      );
      expect([ours.width, ours.height]).toEqual([upright.info.width, upright.info.height]);
      // Orientation 1 hands back the RGBA input untouched; the others return packed RGB.
      const packed = ours.channels === 3 ? ours.data : ours.data.filter((_, i) => i % 4 !== 3);
      expect(Buffer.from(packed).equals(upright.data)).toBe(true);
    });
  }
});
