import type { RgbImage } from '../../shared/preprocess/index.ts';
import { decodeRgba } from './codecs.ts';
import { ImageError } from './errors.ts';
import { assertJpegComplete } from './jpeg-complete.ts';
import { applyOrientation } from './orient.ts';
import type { ImageProbe } from './probe.ts';

/**
 * Decodes a probed image (check its limits first) and turns it upright per its EXIF orientation.
 * Returns RGBA (channels 4) when no rotation was needed, else packed RGB.
 */
export async function decodeImage(bytes: Uint8Array, probe: ImageProbe): Promise<RgbImage> {
  if (probe.type === 'image/jpeg') assertJpegComplete(bytes);
  let pixels: Awaited<ReturnType<typeof decodeRgba>>;
  try {
    pixels = await decodeRgba(probe.type, bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ImageError(
      'invalid_image',
      `could not decode the ${probe.type.slice(6).toUpperCase()} image: ${reason}`,
    );
  }
  if (pixels.width !== probe.width || pixels.height !== probe.height) {
    throw new ImageError(
      'invalid_image',
      `decoded size ${pixels.width}x${pixels.height} differs from the header's ${probe.width}x${probe.height}`,
    );
  }
  const data = new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);
  return applyOrientation(
    { width: pixels.width, height: pixels.height, channels: 4, data },
    probe.orientation,
  );
}
