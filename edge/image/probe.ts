import { type ImageType, sniffImageType } from '../../shared/image/sniff.ts';
import { ImageError } from './errors.ts';
import { probeJpeg } from './probe-jpeg.ts';
import { probePng } from './probe-png.ts';
import { probeWebp } from './probe-webp.ts';

export interface ImageProbe {
  type: ImageType;
  width: number;
  height: number;
  /** EXIF orientation 1-8 (1 = as stored). */
  orientation: number;
}

/**
 * Reads type, stored dimensions and EXIF orientation from the headers only, so that size limits can be
 * enforced before any pixel is decoded. Width and height are as stored (before orientation).
 */
export function probeImage(bytes: Uint8Array): ImageProbe {
  const type = sniffImageType(bytes);
  if (!type) {
    throw new ImageError('unsupported_media_type', 'not a JPEG, PNG or WebP image');
  }
  const info =
    type === 'image/jpeg' ? probeJpeg(bytes) : type === 'image/png' ? probePng(bytes) : probeWebp(bytes);
  if (info.width < 1 || info.height < 1) {
    throw new ImageError('invalid_image', `image has an empty dimension (${info.width}x${info.height})`);
  }
  return { type, ...info };
}
