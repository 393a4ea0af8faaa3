import { ImageError } from './errors.ts';
import { exifOrientation, withoutExifHeader } from './exif.ts';
import { type HeaderInfo, HeaderReader } from './header-reader.ts';

const VP8X_EXIF = 0x08;
const VP8X_ANIMATION = 0x02;

/** RIFF container: VP8 (lossy), VP8L (lossless) or VP8X (extended, with canvas size and EXIF flag). */
export function probeWebp(bytes: Uint8Array): HeaderInfo {
  const r: HeaderReader = new HeaderReader(bytes, 'WebP');
  const chunk = r.fourcc(12);
  const data = 20;
  if (chunk === 'VP8 ' || chunk === 'VP8L') return { ...bitstreamSize(r, chunk, data), orientation: 1 };
  if (chunk === 'VP8X') {
    const flags = r.u8(data);
    if (flags & VP8X_ANIMATION)
      throw new ImageError('unsupported_media_type', 'animated WebP is not supported');
    const width = r.u24le(data + 4) + 1;
    const height = r.u24le(data + 7) + 1;
    // libwebp decodes the frame's own size; a still image's frame must equal the canvas.
    const frame = findFrame(r);
    if (frame.width !== width || frame.height !== height) {
      r.fail(`declares a ${width}x${height} canvas but holds a ${frame.width}x${frame.height} frame`);
    }
    const orientation = flags & VP8X_EXIF ? findExifOrientation(r) : 1;
    return { width, height, orientation };
  }
  return r.fail(`has an unknown first chunk "${chunk}"`);
}

/** Width and height from a VP8 key frame header or a VP8L header. */
function bitstreamSize(r: HeaderReader, chunk: string, data: number): { width: number; height: number } {
  if (chunk === 'VP8 ') {
    // Key frame: 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height.
    if (r.u8(data + 3) !== 0x9d || r.u8(data + 4) !== 0x01 || r.u8(data + 5) !== 0x2a)
      r.fail('has a bad VP8 start code');
    return { width: r.u16(data + 6, true) & 0x3fff, height: r.u16(data + 8, true) & 0x3fff };
  }
  if (r.u8(data) !== 0x2f) r.fail('has a bad VP8L signature');
  const bits = r.u32(data + 1, true);
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
}

/** The image chunk after VP8X (ALPH, ICCP and others may come first). */
function findFrame(r: HeaderReader): { width: number; height: number } {
  let at = 12;
  while (at + 8 <= r.bytes.length) {
    const type = r.fourcc(at);
    if (type === 'VP8 ' || type === 'VP8L') return bitstreamSize(r, type, at + 8);
    const size = r.u32(at + 4, true);
    at += 8 + size + (size & 1);
  }
  return r.fail('has no image data after its VP8X header');
}

/** The EXIF chunk usually follows the image data; skipping chunk by chunk reads only their headers. */
function findExifOrientation(r: HeaderReader): number {
  const bytes = r.bytes;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const size = r.u32(at + 4, true);
    if (r.fourcc(at) === 'EXIF') {
      const end = Math.min(at + 8 + size, bytes.length);
      return exifOrientation(withoutExifHeader(bytes.subarray(at + 8, end)));
    }
    at += 8 + size + (size & 1); // chunks are padded to even sizes
  }
  return 1;
}
