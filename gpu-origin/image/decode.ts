import sharp from 'sharp';
import type { RgbImage } from '../../shared/preprocess/spec.ts';
import { ApiError } from '../http/api-error.ts';
import { type ImageFormat, sniffImageFormat } from './sniff.ts';

export interface DecodeLimits {
  maxBytes: number;
  maxPixels: number;
}

export interface DecodedImage extends RgbImage {
  format: ImageFormat;
}

/** The checks that need no decoder: size and magic bytes. Cheap enough for the main thread. */
export function checkEncoded(bytes: Uint8Array, limits: DecodeLimits): ImageFormat {
  if (bytes.length > limits.maxBytes) {
    throw new ApiError(
      'image_too_large',
      `the image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`,
    );
  }
  const format = sniffImageFormat(bytes);
  // An empty body lands here too, as on the edge.
  if (!format) throw new ApiError('unsupported_media_type', 'the body is not a JPEG, PNG or WebP image');
  return format;
}

// Cheap checks first: size, magic bytes, then the header (sharp reads only the header for metadata), and
// only then the full decode, which sharp also caps with limitInputPixels.
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const format = checkEncoded(bytes, limits);

  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch {
    throw new ApiError('invalid_image', `the ${format.toUpperCase()} image header cannot be read`);
  }
  if (!width || !height) throw new ApiError('invalid_image', 'the image has no dimensions');
  if (width * height > limits.maxPixels) {
    throw new ApiError(
      'image_too_large',
      `the image is ${width}x${height} = ${width * height} pixels; the limit is ${limits.maxPixels}`,
    );
  }

  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' })
      .rotate() // honour EXIF orientation: the pixels as a viewer shows them
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return {
      format,
      width: info.width,
      height: info.height,
      channels: 3,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch {
    throw new ApiError('invalid_image', `the ${format.toUpperCase()} image is corrupt or truncated`);
  }
}
