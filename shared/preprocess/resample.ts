import { type AxisKernel, axisKernel, PRECISION_BITS, sourceRows } from './kernels.ts';
import type { Interpolation, RgbImage } from './spec.ts';

// Pillow's two-pass separable resize for 8-bit images: horizontal pass first, rounded and clipped to uint8,
// then the vertical pass. Only the output window [left, left + width) x [top, top + height) is computed.

export interface Window {
  left: number;
  top: number;
  width: number;
  height: number;
}

// A module-local copy: where modules are compiled to CommonJS (tsx, the origin), an imported binding is
// read through a getter, which in these loops cost about a quarter of the time.
const SHIFT = PRECISION_BITS;
const HALF = 1 << (SHIFT - 1);

// Sums stay within int32 for 8-bit input (as in PIL), so `>>` floors like PIL's shift, and storing into a
// Uint8ClampedArray clips to 0..255 like PIL's clip8.

/** Resize `image` to outWidth x outHeight and return the requested window as packed RGB (3 bytes/pixel). */
export function resizeWindow(
  image: RgbImage,
  outWidth: number,
  outHeight: number,
  window: Window,
  interpolation: Interpolation,
): Uint8Array {
  const { left, top, width, height } = window;
  const sameWidth = outWidth === image.width;
  const sameHeight = outHeight === image.height;
  const vertical = sameHeight ? undefined : axisKernel(image.height, outHeight, interpolation, top, height);
  // Source rows the vertical pass reads: only those go through the horizontal pass.
  const { first: rowFirst, end: rowEnd } = sourceRows(vertical, top, height);
  const rows = sameWidth
    ? copyColumns(image, rowFirst, rowEnd, left, width)
    : horizontalPass(image, rowFirst, rowEnd, axisKernel(image.width, outWidth, interpolation, left, width));
  if (!vertical) return rows;
  return verticalPass(rows, width, rowFirst, vertical);
}

function copyColumns(
  image: RgbImage,
  rowFirst: number,
  rowEnd: number,
  left: number,
  width: number,
): Uint8Array {
  const ch = image.channels;
  const src = image.data;
  const out = new Uint8Array((rowEnd - rowFirst) * width * 3);
  let o = 0;
  for (let y = rowFirst; y < rowEnd; y++) {
    let s = (y * image.width + left) * ch;
    for (let x = 0; x < width; x++, s += ch) {
      out[o++] = src[s] as number;
      out[o++] = src[s + 1] as number;
      out[o++] = src[s + 2] as number;
    }
  }
  return out;
}

/**
 * Two source rows at a time: each weight is loaded once for six products, which halves the loop overhead
 * that dominates this pass. `Math.imul` and `| 0` keep every sum in int32 arithmetic (the sums fit, as in
 * PIL), so the JIT never falls back to doubles; the values are the same integers either way.
 */
function horizontalPass(image: RgbImage, rowFirst: number, rowEnd: number, k: AxisKernel): Uint8Array {
  const ch = image.channels;
  const src = image.data;
  const width = k.start.length;
  const { size, start, count, weights } = k;
  const stride = image.width * ch;
  const outStride = width * 3;
  const out = new Uint8ClampedArray((rowEnd - rowFirst) * outStride);
  const firstByte = new Int32Array(width);
  for (let x = 0; x < width; x++) firstByte[x] = (start[x] as number) * ch;
  let y = rowFirst;
  for (; y + 1 < rowEnd; y += 2) {
    const rowBase = y * stride;
    let o = (y - rowFirst) * outStride;
    for (let x = 0; x < width; x++, o += 3) {
      const wFirst = x * size;
      const wEnd = wFirst + (count[x] as number);
      let s = rowBase + (firstByte[x] as number);
      let r = HALF;
      let g = HALF;
      let b = HALF;
      let r2 = HALF;
      let g2 = HALF;
      let b2 = HALF;
      for (let wi = wFirst; wi < wEnd; wi++, s += ch) {
        const w = weights[wi] as number;
        const s2 = s + stride;
        r = (r + Math.imul(src[s] as number, w)) | 0;
        g = (g + Math.imul(src[s + 1] as number, w)) | 0;
        b = (b + Math.imul(src[s + 2] as number, w)) | 0;
        r2 = (r2 + Math.imul(src[s2] as number, w)) | 0;
        g2 = (g2 + Math.imul(src[s2 + 1] as number, w)) | 0;
        b2 = (b2 + Math.imul(src[s2 + 2] as number, w)) | 0;
      }
      out[o] = r >> SHIFT;
      out[o + 1] = g >> SHIFT;
      out[o + 2] = b >> SHIFT;
      out[o + outStride] = r2 >> SHIFT;
      out[o + outStride + 1] = g2 >> SHIFT;
      out[o + outStride + 2] = b2 >> SHIFT;
    }
  }
  if (y < rowEnd) {
    // The last row of an odd count.
    const rowBase = y * stride;
    let o = (y - rowFirst) * outStride;
    for (let x = 0; x < width; x++, o += 3) {
      const wFirst = x * size;
      const wEnd = wFirst + (count[x] as number);
      let s = rowBase + (firstByte[x] as number);
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let wi = wFirst; wi < wEnd; wi++, s += ch) {
        const w = weights[wi] as number;
        r = (r + Math.imul(src[s] as number, w)) | 0;
        g = (g + Math.imul(src[s + 1] as number, w)) | 0;
        b = (b + Math.imul(src[s + 2] as number, w)) | 0;
      }
      out[o] = r >> SHIFT;
      out[o + 1] = g >> SHIFT;
      out[o + 2] = b >> SHIFT;
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * `rows` holds source rows from `rowFirst` on, `width` RGB pixels each. Each output row accumulates whole
 * source rows (one weight times a contiguous run of bytes): sequential reads, and integer sums in any order
 * are the same sums.
 */
function verticalPass(rows: Uint8Array, width: number, rowFirst: number, k: AxisKernel): Uint8Array {
  const height = k.start.length;
  const { size, start, count, weights } = k;
  const stride = width * 3;
  const out = new Uint8ClampedArray(height * stride);
  const acc = new Int32Array(stride);
  for (let y = 0; y < height; y++) {
    const n = count[y] as number;
    const kBase = y * size;
    acc.fill(HALF);
    let s = ((start[y] as number) - rowFirst) * stride;
    let t = 0;
    // Two source rows per sweep over the sums: half the loads and stores of `acc`.
    for (; t + 1 < n; t += 2, s += 2 * stride) {
      const w = weights[kBase + t] as number;
      const w2 = weights[kBase + t + 1] as number;
      const s2 = s + stride;
      for (let i = 0; i < stride; i++)
        acc[i] =
          ((acc[i] as number) + Math.imul(rows[s + i] as number, w) + Math.imul(rows[s2 + i] as number, w2)) |
          0;
    }
    if (t < n) {
      const w = weights[kBase + t] as number;
      for (let i = 0; i < stride; i++)
        acc[i] = ((acc[i] as number) + Math.imul(rows[s + i] as number, w)) | 0;
    }
    const o = y * stride;
    for (let i = 0; i < stride; i++) out[o + i] = (acc[i] as number) >> SHIFT;
  }
  return new Uint8Array(out.buffer);
}
