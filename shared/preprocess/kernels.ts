import type { Interpolation } from './spec.ts';

// Resampling weights computed the way Pillow does for 8-bit images (libImaging/Resample.c): the filter is
// stretched by the downscale factor (antialiasing), each output pixel's taps are normalised to sum to 1,
// then turned into fixed point with 22 fractional bits. Matching this bit for bit makes our pixels equal to
// PIL's, which is what torchvision and timm feed their models.

export const PRECISION_BITS = 22;

interface Filter {
  support: number;
  weight(x: number): number;
}

const FILTERS: Readonly<Record<Interpolation, Filter>> = {
  bilinear: {
    support: 1,
    weight(x) {
      const ax = Math.abs(x);
      return ax < 1 ? 1 - ax : 0;
    },
  },
  bicubic: {
    // Keys' cubic convolution with a = -0.5, as in PIL.
    support: 2,
    weight(x) {
      const a = -0.5;
      const ax = Math.abs(x);
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
};

/** Taps for a contiguous range of output pixels along one axis. */
export interface AxisKernel {
  /** Taps per output pixel (unused trailing taps are zero). */
  size: number;
  /** First source index of each output pixel. */
  start: Int32Array;
  /** Number of used taps of each output pixel. */
  count: Int32Array;
  /** Fixed-point weights, `size` per output pixel. */
  weights: Int32Array;
}

/**
 * Kernel for resizing an axis of `inSize` pixels to `outSize`, restricted to output pixels
 * [first, first + length): a centre crop only pays for the pixels it keeps.
 */
export function axisKernel(
  inSize: number,
  outSize: number,
  interpolation: Interpolation,
  first = 0,
  length = outSize - first,
): AxisKernel {
  const filter = FILTERS[interpolation];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  // PIL multiplies by the reciprocal; dividing could differ in the last bit.
  const inverseScale = 1 / filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(length);
  const count = new Int32Array(length);
  const weights = new Int32Array(length * size);
  const raw = new Float64Array(size);
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < length; i++) {
    const center = (first + i + 0.5) * scale;
    // Truncation toward zero (C's (int) cast) of center ± support + 0.5, clamped to the axis.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = hi - lo;
    let total = 0;
    for (let t = 0; t < n; t++) {
      const w = filter.weight((t + lo - center + 0.5) * inverseScale);
      raw[t] = w;
      total += w;
    }
    for (let t = 0; t < n; t++) {
      const w = total !== 0 ? (raw[t] as number) / total : (raw[t] as number);
      weights[i * size + t] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
    }
    start[i] = lo;
    count[i] = n;
  }
  return { size, start, count, weights };
}

/**
 * The source rows [first, end) a vertical kernel reads for its output rows; without one (the height does
 * not change), the window's own rows [top, top + height).
 */
export function sourceRows(
  vertical: AxisKernel | undefined,
  top: number,
  height: number,
): { first: number; end: number } {
  if (!vertical) return { first: top, end: top + height };
  const last = height - 1;
  return {
    first: vertical.start[0] as number,
    end: (vertical.start[last] as number) + (vertical.count[last] as number),
  };
}
