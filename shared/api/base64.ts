import { ApiError } from '../http/errors.ts';

// The JSON body form carries the image in base64 on both services; both refuse bad base64 the same way.

export const BASE64_ERROR = { code: 'invalid_request', message: 'image: not valid base64.' } as const;

/** Strips whitespace and a data: URL prefix, and checks the alphabet and padding (no decoding yet). */
export function compactBase64(text: string): string {
  const compact = text.replace(/\s+/g, '').replace(/^data:[^,]*;base64,/, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new ApiError(BASE64_ERROR.code, BASE64_ERROR.message);
  }
  return compact;
}

/** Bytes a checked base64 text decodes to, without decoding it. */
export function base64DecodedLength(compact: string): number {
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return Math.floor((compact.length * 3) / 4) - padding;
}

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(compactBase64(text));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
