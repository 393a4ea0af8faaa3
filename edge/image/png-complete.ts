import { crc32 } from './crc32.ts';
import { ImageError } from './errors.ts';

// The PNG decoder allocates its output and inflates before it can notice a file cut short or damaged, and
// a failed decode leaves a codec heap for the garbage collector to return (png-codec.ts). So every chunk
// is checked here first, in one linear pass and without allocating: its length lies inside the body, its
// CRC matches, the IDAT chunks are contiguous and IEND comes. Bytes after IEND are ignored, as libpng and
// the decoder ignore them, and are not handed to the decoder.

const SIGNATURE_LENGTH = 8;
const MAX_CHUNK_LENGTH = 2 ** 31 - 1; // PNG spec 5.3

/** Checks the chunk structure of a PNG (signature already sniffed); returns the offset just past IEND. */
export function assertPngComplete(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = SIGNATURE_LENGTH;
  let dataState: 'before' | 'inside' | 'after' = 'before';
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = chunkType(bytes, at + 4);
    if (type === undefined) fail(`PNG chunk at offset ${at} has an invalid type (not four ASCII letters)`);
    const dataEnd = at + 8 + length;
    if (length > MAX_CHUNK_LENGTH || dataEnd + 4 > bytes.length) {
      fail(`PNG ends before IEND (truncated inside the ${type} chunk at offset ${at})`);
    }
    if (crc32(bytes, at + 4, dataEnd) !== view.getUint32(dataEnd)) {
      fail(`PNG chunk ${type} at offset ${at} has a bad CRC`);
    }
    if (type === 'IDAT') {
      if (dataState === 'after')
        fail(`PNG chunk IDAT at offset ${at} is not contiguous with the earlier IDAT`);
      dataState = 'inside';
    } else if (dataState === 'inside') {
      dataState = 'after';
    }
    if (type === 'IEND') {
      if (dataState === 'before') fail('PNG has no image data (no IDAT chunk before IEND)');
      return dataEnd + 4;
    }
    at = dataEnd + 4;
  }
  return fail('PNG ends before IEND (truncated)');
}

/** The chunk type at `at`, or undefined unless it is four ASCII letters (PNG spec 5.4). */
function chunkType(bytes: Uint8Array, at: number): string | undefined {
  let type = '';
  for (let i = at; i < at + 4; i++) {
    const c = (bytes[i] as number) | 0x20; // lower-cased
    if (c < 0x61 || c > 0x7a) return undefined;
    type += String.fromCharCode(bytes[i] as number);
  }
  return type;
}

function fail(message: string): never {
  throw new ImageError('invalid_image', message);
}
