import sharp from 'sharp';
import { ApiError } from '../../shared/http/errors.ts';
import { formatName, type ImageType, sniffImageType } from '../../shared/image/sniff.ts';
import type { RgbImage } from '../../shared/preprocess/spec.ts';

export interface DecodeLimits {
  maxBytes: number;
  maxPixels: number;
}

export interface DecodedImage extends RgbImage {
  format: 'jpeg' | 'png' | 'webp';
}

/** The checks that need no decoder: size and magic bytes. Cheap enough for the main thread. */
export function checkEncoded(bytes: Uint8Array, limits: DecodeLimits): ImageType {
  if (bytes.length > limits.maxBytes) {
    throw new ApiError(
      'image_too_large',
      `the image is ${bytes.length} bytes; the limit is ${limits.maxBytes}`,
    );
  }
  const type = sniffImageType(bytes);
  // An empty body lands here too, as on the edge.
  if (!type) throw new ApiError('unsupported_media_type', 'the body is not a JPEG, PNG or WebP image');
  return type;
}

// Cheap checks first: size, magic bytes, then the header (sharp reads only the header for metadata), and
// only then the full decode, which sharp also caps with limitInputPixels.
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const type = checkEncoded(bytes, limits);

  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch {
    throw new ApiError('invalid_image', `the ${formatName(type)} image header cannot be read`);
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
      format: formatName(type).toLowerCase() as DecodedImage['format'],
      width: info.width,
      height: info.height,
      channels: 3,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch {
    throw new ApiError('invalid_image', `the ${formatName(type)} image is corrupt or truncated`);
  }
}
