import type { RgbImage } from '../../shared/preprocess/index.ts';
import { type DecodedPixels, decodeJpeg, decodePng, decodeWebp } from './codecs.ts';
import { planDecode } from './decode-plan.ts';
import { ImageError } from './errors.ts';
import { assertJpegComplete } from './jpeg-complete.ts';
import { applyOrientation } from './orient.ts';
import type { ImageProbe } from './probe.ts';

/**
 * Decodes a probed image (check its limits first) and turns it upright per its EXIF orientation.
 * JPEGs are decoded at the strongest DCT reduction that keeps the shorter side >= `minSide` (1 = full
 * size); orientation is applied to the reduced image. Returns RGBA (channels 4) or packed RGB.
 */
export async function decodeImage(
  bytes: Uint8Array,
  probe: ImageProbe,
  minSide = Number.POSITIVE_INFINITY,
): Promise<RgbImage> {
  if (probe.type === 'image/jpeg') assertJpegComplete(bytes);
  const plan = planDecode(probe, minSide);
  let pixels: DecodedPixels;
  try {
    if (probe.type === 'image/jpeg') pixels = decodeJpeg(bytes, probe, plan);
    else if (probe.type === 'image/png') pixels = decodePng(bytes, probe);
    else pixels = await decodeWebp(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ImageError(
      'invalid_image',
      `could not decode the ${probe.type.slice(6).toUpperCase()} image: ${reason}`,
    );
  }
  if (pixels.width !== plan.width || pixels.height !== plan.height) {
    throw new ImageError(
      'invalid_image',
      `decoded size ${pixels.width}x${pixels.height} differs from the header's ${plan.width}x${plan.height}`,
    );
  }
  return applyOrientation(pixels, probe.orientation);
}
