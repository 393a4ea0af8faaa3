import type { RgbImage } from '../../shared/preprocess/index.ts';
import { type DecodedPixels, decodeJpeg, decodePng, decodeWebp } from './codecs.ts';
import { planDecode } from './decode-plan.ts';
import { ImageError } from './errors.ts';
import { assertJpegComplete } from './jpeg-complete.ts';
import { applyOrientation } from './orient.ts';
import { assertPngComplete } from './png-complete.ts';
import type { ImageProbe } from './probe.ts';

/**
 * Decodes a probed image (check its limits first) and turns it upright per its EXIF orientation.
 * JPEGs are decoded at the strongest DCT reduction (M/8) that keeps the shorter side >= `minSide`
 * (none when no reduction does; infinity, the default, means full size); orientation is applied to the
 * reduced image. Returns RGBA (channels 4) or packed RGB.
 */
export async function decodeImage(
  bytes: Uint8Array,
  probe: ImageProbe,
  minSide = Number.POSITIVE_INFINITY,
): Promise<RgbImage> {
  // Truncated or damaged files are refused from their structure, before a decoder allocates anything.
  if (probe.type === 'image/jpeg') assertJpegComplete(bytes);
  // Bytes after IEND are ignored (as libpng does), so they are not copied into the codec's heap either.
  const body = probe.type === 'image/png' ? bytes.subarray(0, assertPngComplete(bytes)) : bytes;
  const plan = planDecode(probe, minSide);
  // JPEGs are turned upright straight out of the codec's heap: one copy of the pixels, not two.
  const upright = (view: DecodedPixels): DecodedPixels => {
    const turned = applyOrientation(view, probe.orientation);
    return turned === view ? { ...view, data: view.data.slice() } : { ...turned, channels: 3 };
  };
  let pixels: DecodedPixels;
  try {
    if (probe.type === 'image/jpeg') pixels = decodeJpeg(bytes, probe, plan, upright);
    else if (probe.type === 'image/png') pixels = decodePng(body, probe);
    else pixels = await decodeWebp(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ImageError(
      'invalid_image',
      `could not decode the ${probe.type.slice(6).toUpperCase()} image: ${reason}`,
    );
  }
  if (probe.type === 'image/jpeg') return checkedSize(pixels, plan, probe.orientation);
  return applyOrientation(checkedSize(pixels, plan, 1), probe.orientation);
}

/** The decoder's output must have the size planned from the header (turned by the orientation). */
function checkedSize<T extends { width: number; height: number }>(
  pixels: T,
  plan: { width: number; height: number },
  orientation: number,
): T {
  const [width, height] = orientation >= 5 ? [plan.height, plan.width] : [plan.width, plan.height];
  if (pixels.width !== width || pixels.height !== height) {
    throw new ImageError(
      'invalid_image',
      `decoded size ${pixels.width}x${pixels.height} differs from the header's ${width}x${height}`,
    );
  }
  return pixels;
}
