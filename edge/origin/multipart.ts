// The body of an origin batch call: multipart/form-data with one `image` part per image, built by hand
// so that the bytes signed are exactly the bytes sent (a FormData body is serialised by the runtime).
import type { OriginImage } from './client.ts';

export function multipartImages(images: readonly OriginImage[]): {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
} {
  const random = new Uint8Array(12);
  crypto.getRandomValues(random);
  const boundary = `----edge-batch-${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  images.forEach((image, i) => {
    parts.push(
      encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image-${i}"\r\nContent-Type: ${image.contentType}\r\n\r\n`,
      ),
      image.bytes,
      encoder.encode('\r\n'),
    );
  });
  parts.push(encoder.encode(`--${boundary}--\r\n`));
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` };
}
