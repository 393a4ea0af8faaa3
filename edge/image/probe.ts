import { type ImageType, sniffImageType } from '../../shared/image/sniff.ts';
import { ImageError } from './errors.ts';
import { type JpegHeader, probeJpeg } from './probe-jpeg.ts';
import { probePng } from './probe-png.ts';
import { probeWebp } from './probe-webp.ts';

export interface ImageProbe {
  type: ImageType;
  width: number;
  height: number;
  /** EXIF orientation 1-8 (1 = as stored). */
  orientation: number;
  /** Size of the upload: the decoders copy it into their heap. */
  byteLength: number;
  /** JPEG only: what libjpeg will buffer. */
  jpeg?: Pick<JpegHeader, 'components' | 'wholeImageCoefficients' | 'scanOffset'>;
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
  const byteLength = bytes.byteLength;
  let probe: ImageProbe;
  if (type === 'image/jpeg') {
    const { width, height, orientation, components, wholeImageCoefficients, scanOffset } = probeJpeg(bytes);
    probe = {
      type,
      width,
      height,
      orientation,
      byteLength,
      jpeg: { components, wholeImageCoefficients, scanOffset },
    };
  } else {
    probe = { type, byteLength, ...(type === 'image/png' ? probePng(bytes) : probeWebp(bytes)) };
  }
  if (probe.width < 1 || probe.height < 1) {
    throw new ImageError('invalid_image', `image has an empty dimension (${probe.width}x${probe.height})`);
  }
  return probe;
}
