import { ImageError } from './errors.ts';
import { exifOrientation } from './exif.ts';
import { type HeaderInfo, HeaderReader } from './header-reader.ts';

// The size limits are only as good as this walk's agreement with libjpeg about which bytes are markers.
// libjpeg's next_marker() skips any non-0xFF bytes and stuffed FF 00 pairs (with a warning) while
// looking for the next marker, so bytes this walk jumps over could hold a frame header libjpeg obeys.
// Everything libjpeg would merely tolerate is therefore rejected: exactly one marker must start where
// the previous segment ends (0xFF fill bytes before it are legal), and only markers that carry a length
// may appear before the first scan.

const SOS = 0xda;
const APP1 = 0xe1;

/** Frame types libjpeg-turbo decodes: baseline, extended, progressive, and their arithmetic forms. */
const DECODABLE_FRAMES = new Set([0xc0, 0xc1, 0xc2, 0xc9, 0xca]);
const PROGRESSIVE_FRAMES = new Set([0xc2, 0xca]);
/** Lossless, hierarchical and JPG-extension frames: valid JPEG, but libjpeg refuses them. */
const UNSUPPORTED_FRAMES = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xc8, 0xcb, 0xcd, 0xce, 0xcf]);
/** Table and application segments that may precede the first scan (DHT, DAC, DQT, DRI, DNL, APPn, COM). */
function isTableOrMisc(marker: number): boolean {
  return (
    marker === 0xc4 ||
    marker === 0xcc ||
    marker === 0xdb ||
    marker === 0xdd ||
    marker === 0xdc ||
    (marker >= 0xe0 && marker <= 0xef) ||
    marker === 0xfe
  );
}

export interface JpegComponent {
  horizontal: number;
  vertical: number;
}

export interface JpegHeader extends HeaderInfo {
  /** Offset of the first scan's FF DA. */
  scanOffset: number;
  components: JpegComponent[];
  /**
   * libjpeg keeps every DCT coefficient of the whole image (2 bytes each) when the image has several
   * scans: progressive, or a first scan that does not hold every component. Reduced-scale decoding does
   * not shrink that buffer.
   */
  wholeImageCoefficients: boolean;
}

function hex(marker: number): string {
  return `FF ${marker.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** Walks the marker segments up to the first scan; only headers are read. */
export function probeJpeg(bytes: Uint8Array): JpegHeader {
  const r: HeaderReader = new HeaderReader(bytes, 'JPEG');
  let orientation = 1;
  let frame: { width: number; height: number; components: JpegComponent[]; progressive: boolean } | undefined;
  let at = 2;
  for (;;) {
    const start = at;
    if (r.u8(at) !== 0xff) {
      r.fail(`has non-marker bytes at offset ${at} where a ${frame ? 'marker' : 'frame header'} must stand`);
    }
    // Any number of 0xFF fill bytes may precede a marker code.
    while (r.u8(at) === 0xff) at++;
    const marker = r.u8(at);
    at++;
    if (marker === 0x00) r.fail(`has a stuffed FF 00 at offset ${start} where a marker must stand`);
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7))
      r.fail(`has ${hex(marker)} (TEM/RSTn) at offset ${start} before the first scan`);
    if (marker === 0xd8) r.fail('has a second start-of-image marker');
    if (marker === 0xd9) r.fail('ends before any image data');
    if (UNSUPPORTED_FRAMES.has(marker)) {
      throw new ImageError(
        'unsupported_media_type',
        `JPEG frame type ${hex(marker)} (lossless or hierarchical) is not supported`,
      );
    }
    const isFrame = DECODABLE_FRAMES.has(marker);
    if (!isFrame && marker !== SOS && !isTableOrMisc(marker))
      r.fail(`has an unknown marker ${hex(marker)} at offset ${start}`);
    const length = r.u16(at);
    if (length < 2) r.fail('has a segment shorter than its length field');
    r.need(at, length);
    if (isFrame) {
      if (frame) r.fail(`has a second frame header at offset ${start}`);
      frame = readFrame(r, at, length, PROGRESSIVE_FRAMES.has(marker));
    } else if (marker === APP1 && orientation === 1 && length >= 8) {
      const payload = bytes.subarray(at + 2, at + length);
      if (String.fromCharCode(...payload.subarray(0, 4)) === 'Exif')
        orientation = exifOrientation(payload.subarray(6));
    } else if (marker === SOS) {
      if (!frame) r.fail('has a scan before its frame header');
      const scanComponents = r.u8(at + 2);
      const { width, height, components, progressive } = frame;
      return {
        width,
        height,
        orientation,
        scanOffset: start,
        components,
        wholeImageCoefficients: progressive || scanComponents < components.length,
      };
    }
    at += length;
  }
}

function readFrame(r: HeaderReader, at: number, length: number, progressive: boolean) {
  const precision = r.u8(at + 2);
  const height = r.u16(at + 3);
  const width = r.u16(at + 5);
  const count = r.u8(at + 7);
  if (length !== 8 + 3 * count) r.fail('frame header length does not match its component count');
  if (precision !== 8)
    throw new ImageError('unsupported_media_type', `${precision}-bit JPEG is not supported`);
  if (height === 0) {
    throw new ImageError(
      'unsupported_media_type',
      'JPEG without a height in its frame header is not supported',
    );
  }
  if (count !== 1 && count !== 3) {
    throw new ImageError(
      'unsupported_media_type',
      `JPEG with ${count} colour components (CMYK?) is not supported`,
    );
  }
  const components: JpegComponent[] = [];
  for (let i = 0; i < count; i++) {
    const sampling = r.u8(at + 9 + 3 * i);
    const horizontal = sampling >> 4;
    const vertical = sampling & 15;
    if (horizontal < 1 || horizontal > 4 || vertical < 1 || vertical > 4)
      r.fail(`frame header has a bad sampling factor ${horizontal}x${vertical}`);
    components.push({ horizontal, vertical });
  }
  return { width, height, components, progressive };
}

/** Bytes of libjpeg's whole-image coefficient buffer (0 for single-scan images, which stream). */
export function coefficientBytes(
  header: Pick<JpegHeader, 'width' | 'height' | 'components' | 'wholeImageCoefficients'>,
): number {
  if (!header.wholeImageCoefficients) return 0;
  const hMax = Math.max(...header.components.map((c) => c.horizontal));
  const vMax = Math.max(...header.components.map((c) => c.vertical));
  const mcuColumns = Math.ceil(header.width / (8 * hMax));
  const mcuRows = Math.ceil(header.height / (8 * vMax));
  // 64 coefficients of 2 bytes per 8x8 block, blocks padded to whole MCUs.
  return header.components.reduce(
    (sum, c) => sum + mcuColumns * c.horizontal * mcuRows * c.vertical * 128,
    0,
  );
}
