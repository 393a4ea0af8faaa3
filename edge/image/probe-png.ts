import { exifOrientation, withoutExifHeader } from './exif.ts';
import { type HeaderInfo, HeaderReader } from './header-reader.ts';

const MAX_DIMENSION = 2 ** 31 - 1;

/** IHDR gives the size; an eXIf chunk before the image data gives the orientation. */
export function probePng(bytes: Uint8Array): HeaderInfo {
  const r: HeaderReader = new HeaderReader(bytes, 'PNG');
  if (r.u32(8) !== 13 || r.fourcc(12) !== 'IHDR') r.fail('does not start with IHDR');
  const width = r.u32(16);
  const height = r.u32(20);
  if (width > MAX_DIMENSION || height > MAX_DIMENSION) r.fail('has an out-of-range dimension');
  r.need(16, 13 + 4); // the whole IHDR chunk and its CRC
  let orientation = 1;
  // Walk ancillary chunks up to IDAT; a truncated tail here is left for the decoder to judge.
  let at = 33;
  while (at + 8 <= bytes.length) {
    const length = r.u32(at);
    const type = r.fourcc(at + 4);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'eXIf' && at + 8 + length <= bytes.length) {
      orientation = exifOrientation(withoutExifHeader(bytes.subarray(at + 8, at + 8 + length)));
      break;
    }
    at += 12 + length;
  }
  return { width, height, orientation };
}
