import { decodeBase64 } from '../../shared/api/base64.ts';

// Buffer's native codec: atob on a 4 MiB image blocks the event loop for about a second.
function decodeWithBuffer(compact: string): Uint8Array {
  const bytes = Buffer.from(compact, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeBase64Image(text: string, maxBytes: number): Uint8Array {
  return decodeBase64(text, maxBytes, decodeWithBuffer);
}
