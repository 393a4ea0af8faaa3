import { ImageError } from './errors.ts';
import { exifOrientation } from './exif.ts';
import { type HeaderInfo, HeaderReader } from './header-reader.ts';

const SOS = 0xda;
const APP1 = 0xe1;

/** SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Walks the marker segments up to the first scan; only headers are read. */
export function probeJpeg(bytes: Uint8Array): HeaderInfo {
  const r: HeaderReader = new HeaderReader(bytes, 'JPEG');
  let orientation = 1;
  let frame: { width: number; height: number } | undefined;
  let at = 2;
  for (;;) {
    if (r.u8(at) !== 0xff) r.fail(`has no marker at byte ${at}`);
    // Any number of 0xFF fill bytes may precede a marker code.
    while (r.u8(at) === 0xff) at++;
    const marker = r.u8(at);
    at++;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // no payload
    if (marker === 0xd9) r.fail('ends before any image data');
    const length = r.u16(at);
    if (length < 2) r.fail('has a segment shorter than its length field');
    r.need(at, length);
    if (isStartOfFrame(marker) && !frame) {
      const height = r.u16(at + 3);
      const width = r.u16(at + 5);
      const components = r.u8(at + 7);
      if (height === 0) {
        throw new ImageError(
          'unsupported_media_type',
          'JPEG without a height in its frame header is not supported',
        );
      }
      if (components !== 1 && components !== 3) {
        throw new ImageError(
          'unsupported_media_type',
          `JPEG with ${components} colour components (CMYK?) is not supported`,
        );
      }
      frame = { width, height };
    } else if (marker === APP1 && orientation === 1 && length >= 8) {
      const payload = bytes.subarray(at + 2, at + length);
      if (String.fromCharCode(...payload.subarray(0, 4)) === 'Exif')
        orientation = exifOrientation(payload.subarray(6));
    } else if (marker === SOS) {
      if (!frame) r.fail('has a scan before its frame header');
      return { ...frame, orientation };
    }
    at += length;
  }
}
