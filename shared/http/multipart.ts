// multipart/form-data with one file part per image, all under one field name, built by hand: the bytes
// signed (edge -> origin) are exactly the bytes sent, and shared/ needs no runtime's FormData. The edge's
// origin client and the typed client both send batches this way.

export interface FilePart {
  bytes: Uint8Array;
  contentType: string;
}

export function multipartFiles(
  field: string,
  files: readonly FilePart[],
): { bytes: Uint8Array<ArrayBuffer>; contentType: string } {
  const random = new Uint8Array(12);
  crypto.getRandomValues(random);
  const boundary = `----batch-${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  files.forEach((file, i) => {
    parts.push(
      encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${field}-${i}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
      ),
      file.bytes,
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
