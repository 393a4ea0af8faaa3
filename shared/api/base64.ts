import { ApiError } from '../http/errors.ts';

// The JSON body form carries the image in base64 on both services; both refuse bad or oversized base64 the
// same way. The decoded size follows from the text's length, so an image over the limit is refused before
// anything is decoded or copied. Each runtime brings its fastest decoder (the origin: Buffer's native codec).

export const BASE64_ERROR = { code: 'invalid_request', message: 'image: not valid base64.' } as const;

/** Decodes checked base64 text (alphabet and padding already verified). */
export type Base64Decoder = (compact: string) => Uint8Array;

/** Largest base64 text (without whitespace) whose decoding can fit in `maxBytes`. */
function maxBase64Chars(maxBytes: number): number {
  return Math.ceil(maxBytes / 3) * 4;
}

/** Bytes a checked base64 text decodes to, without decoding it. */
export function base64DecodedLength(compact: string): number {
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return Math.floor((compact.length * 3) / 4) - padding;
}

/**
 * Strips whitespace and a data: URL prefix, and checks the alphabet, padding and decoded size, all before
 * decoding. Line breaks cannot double the text either: its raw length is bounded before it is copied.
 */
function compactBase64(text: string, maxBytes: number): string {
  const limit = maxBase64Chars(maxBytes);
  if (text.length > 2 * limit + 256) throw tooLarge(text.length, maxBytes);
  const compact = text.replace(/\s+/g, '').replace(/^data:[^,]{0,200};base64,/, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new ApiError(BASE64_ERROR.code, BASE64_ERROR.message);
  }
  if (base64DecodedLength(compact) > maxBytes) throw tooLarge(compact.length, maxBytes);
  return compact;
}

function decodeWithAtob(compact: string): Uint8Array {
  const binary = atob(compact);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function decodeBase64(
  text: string,
  maxBytes: number,
  decode: Base64Decoder = decodeWithAtob,
): Uint8Array {
  return decode(compactBase64(text, maxBytes));
}

function tooLarge(chars: number, maxBytes: number): ApiError {
  return new ApiError(
    'image_too_large',
    `The base64 image (${chars} characters) decodes to about ${Math.floor((chars * 3) / 4)} bytes; the limit is ${maxBytes}.`,
  );
}
