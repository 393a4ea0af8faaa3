// EXIF orientation (TIFF tag 0x0112 in IFD0). EXIF blocks in the wild are often damaged while the image is
// fine, so anything unreadable here means "no orientation" (1) rather than a rejected image.

const ORIENTATION_TAG = 0x0112;
const SHORT = 3;

/** Orientation 1-8 from a TIFF structure (the payload after JPEG's "Exif\0\0", or a PNG/WebP EXIF chunk). */
export function exifOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = view.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const little = order === 0x4949;
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 12 > tiff.length) return 1;
    if (view.getUint16(at, little) !== ORIENTATION_TAG) continue;
    if (view.getUint16(at + 2, little) !== SHORT) return 1;
    const value = view.getUint16(at + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

/** Strips the "Exif\0\0" prefix some writers put in front of PNG/WebP EXIF chunks too. */
export function withoutExifHeader(data: Uint8Array): Uint8Array {
  const prefixed = data.length >= 6 && EXIF_HEADER.every((b, i) => data[i] === b);
  return prefixed ? data.subarray(6) : data;
}
