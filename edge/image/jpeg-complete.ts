import { ImageError } from './errors.ts';

// The JPEG decoder fills a file cut off inside its pixel data with grey and reports success, so a truncated
// upload would be classified as if it were whole. Its end-of-image marker tells: within entropy-coded data
// 0xFF is always stuffed (FF 00) or a restart marker, so FF D9 after the first scan header only occurs at
// the real end. (An EXIF thumbnail's own FF D9 comes before the scan and is skipped by walking segments.)

const SOS = 0xda;
const EOI = 0xd9;

export function assertJpegComplete(bytes: Uint8Array): void {
  const scanStart = firstScanOffset(bytes);
  for (let i = bytes.length - 2; i > scanStart; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === EOI) return;
  }
  throw new ImageError(
    'invalid_image',
    'the JPEG is truncated: its data ends before the end-of-image marker',
  );
}

function firstScanOffset(bytes: Uint8Array): number {
  let i = 2; // after SOI
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) break;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === SOS) return i;
    const length = ((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0);
    i += 2 + length;
  }
  throw new ImageError('invalid_image', 'the JPEG has no image data (no scan header)');
}
