import { ImageError } from './errors.ts';

/** Header facts of a probed image: stored size and EXIF orientation. */
export interface HeaderInfo {
  width: number;
  height: number;
  orientation: number;
}

/** Bounds-checked big/little-endian reads that turn truncation into an invalid_image error. */
export class HeaderReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly format: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.bytes.length) this.fail('is truncated');
  }

  u8(offset: number): number {
    this.need(offset, 1);
    return this.view.getUint8(offset);
  }

  u16(offset: number, little = false): number {
    this.need(offset, 2);
    return this.view.getUint16(offset, little);
  }

  u24le(offset: number): number {
    this.need(offset, 3);
    return this.view.getUint16(offset, true) | (this.view.getUint8(offset + 2) << 16);
  }

  u32(offset: number, little = false): number {
    this.need(offset, 4);
    return this.view.getUint32(offset, little);
  }

  fourcc(offset: number): string {
    this.need(offset, 4);
    return String.fromCharCode(...this.bytes.subarray(offset, offset + 4));
  }

  fail(problem: string): never {
    throw new ImageError('invalid_image', `${this.format} header ${problem}`);
  }
}
