import { ImageError } from './errors.ts';
import { exifOrientation, withoutExifHeader } from './exif.ts';
import { type HeaderInfo, HeaderReader } from './header-reader.ts';

const MAX_DIMENSION = 2 ** 31 - 1;
/** Allowed bit depths per colour type (PNG spec, table 11.1). */
const BIT_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/**
 * IHDR gives the size; an eXIf chunk the orientation. Every chunk header up to IEND is walked (only
 * headers are read): a second IHDR, or an APNG frame (fcTL) that does not lie inside the canvas, is
 * rejected here because a decoder could size a buffer from it.
 */
export function probePng(bytes: Uint8Array): HeaderInfo {
  const r: HeaderReader = new HeaderReader(bytes, 'PNG');
  if (r.u32(8) !== 13 || r.fourcc(12) !== 'IHDR') r.fail('does not start with IHDR');
  const width = r.u32(16);
  const height = r.u32(20);
  if (width > MAX_DIMENSION || height > MAX_DIMENSION) r.fail('has an out-of-range dimension');
  r.need(16, 13 + 4); // the whole IHDR chunk and its CRC
  const depth = r.u8(24);
  const colour = r.u8(25);
  if (!BIT_DEPTHS[colour]?.includes(depth))
    r.fail(`has an invalid colour type ${colour} / bit depth ${depth}`);
  if (r.u8(26) !== 0 || r.u8(27) !== 0 || r.u8(28) > 1)
    r.fail('has an unknown compression, filter or interlace method');
  let orientation = 1;
  let seenData = false;
  let at = 33;
  // Only what the size limits need; lengths, CRCs and IEND are checked before decoding (png-complete.ts).
  while (at + 8 <= bytes.length) {
    const length = r.u32(at);
    const type = r.fourcc(at + 4);
    if (length > MAX_DIMENSION) r.fail(`has a ${type} chunk with an impossible length`);
    if (type === 'IEND') break;
    if (type === 'IHDR') r.fail('has a second IHDR chunk');
    if (type === 'IDAT') seenData = true;
    if (type === 'acTL' && seenData) r.fail('has its animation control chunk after the image data');
    if (type === 'fcTL') checkFrame(r, at + 8, length, width, height);
    if (type === 'eXIf' && orientation === 1 && at + 8 + length <= bytes.length)
      orientation = exifOrientation(withoutExifHeader(bytes.subarray(at + 8, at + 8 + length)));
    at += 12 + length;
  }
  return { width, height, orientation };
}

/** APNG frame control: the frame must be non-empty and inside the canvas (APNG spec, fcTL). */
function checkFrame(r: HeaderReader, at: number, length: number, width: number, height: number): void {
  if (length !== 26) r.fail('has an fcTL chunk of the wrong length');
  const w = r.u32(at + 4);
  const h = r.u32(at + 8);
  const x = r.u32(at + 12);
  const y = r.u32(at + 16);
  if (w === 0 || h === 0 || x + w > width || y + h > height) {
    throw new ImageError(
      'invalid_image',
      `PNG animation frame ${w}x${h} at (${x}, ${y}) does not fit the ${width}x${height} canvas`,
    );
  }
}
