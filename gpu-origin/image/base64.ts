import { ApiError } from '../http/api-error.ts';

// The JSON form carries the image as base64. Its size is known from the text's length, so an image over the
// limit is refused before anything is decoded or copied; decoding is Buffer's native codec, not atob.

/** Largest base64 text (without whitespace) whose decoding can fit in `maxBytes`. */
export function maxBase64Chars(maxBytes: number): number {
  return Math.ceil(maxBytes / 3) * 4;
}

export function decodeBase64Image(text: string, maxBytes: number): Uint8Array {
  const limit = maxBase64Chars(maxBytes);
  // Line breaks and a data: URL prefix are tolerated, but cannot double the text: checked before copying it.
  if (text.length > 2 * limit + 256) throw tooLarge(text.length, maxBytes);
  const compact = text.replace(/\s+/g, '').replace(/^data:[^,]{0,200};base64,/, '');
  if (compact.length > limit) throw tooLarge(compact.length, maxBytes);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new ApiError('invalid_parameter', 'image: must be base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function tooLarge(chars: number, maxBytes: number): ApiError {
  return new ApiError(
    'image_too_large',
    `the base64 image (${chars} characters) decodes to about ${Math.floor((chars * 3) / 4)} bytes; the limit is ${maxBytes}`,
  );
}
