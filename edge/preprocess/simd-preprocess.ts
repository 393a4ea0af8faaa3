import {
  axisKernel,
  cropPlan,
  type Interpolation,
  normalizationTables,
  type PreprocessSpec,
  type RgbImage,
  sourceRows,
  validatePreprocessInput,
  type Window,
} from '../../shared/preprocess/index.ts';
import { instantiate, Replaceable, type WasmMemory } from '../image/codec-instance.ts';

// shared/preprocess's resizeWindow and preprocess run by resize-simd.wat: the same kernels (computed here
// with kernels.ts and passed in), the same integer arithmetic and the same normalisation tables, so the
// same bytes and floats, in about a quarter of the time. The source rows the resize reads are copied into
// the module's memory a band at a time; the memory is owned by one instance, used synchronously, and
// dropped when a large image grew it past the codecs' threshold (codec-instance.ts).

interface ResizeExports {
  memory: WasmMemory & { grow(pages: number): number };
  horizontal(
    src: number,
    stride: number,
    channels: number,
    rows: number,
    width: number,
    pairStride: number,
    first: number,
    pairs: number,
    weights: number,
    mask: number,
    out: number,
  ): void;
  vertical(
    rows: number,
    stride: number,
    height: number,
    size: number,
    start: number,
    count: number,
    weights: number,
    out: number,
  ): void;
  normalize(
    pixels: number,
    width: number,
    height: number,
    tables: number,
    out: number,
    rowBytes: number,
    planeBytes: number,
  ): void;
}

/** Fixed point of the kernels (shared/preprocess/kernels.ts PRECISION_BITS): weight 1.0. */
const ONE = 1 << 22;
const PAGE = 65536;
/** Vector loads and stores reach up to 15 bytes past a buffer's data. */
const PAD = 16;
/**
 * Source rows copied into the memory per horizontal pass: a band, not the whole image, so that a large
 * photo's preprocessing holds a few hundred kB here instead of another copy of its pixels.
 */
const BAND_ROWS = 64;

export type ResizeWindowFn = (
  image: RgbImage,
  outWidth: number,
  outHeight: number,
  window: Window,
  interpolation: Interpolation,
) => Uint8Array;

export interface Preprocessor {
  /** resizeWindow (shared/preprocess/resample.ts): the same bytes. */
  resizeWindow: ResizeWindowFn;
  /** preprocess (shared/preprocess/preprocess.ts): the same tensor. */
  preprocess(image: RgbImage, spec: PreprocessSpec): Float32Array;
}

/** Resize and preprocess running on `module` (resize-simd.wasm, compiled). */
export function simdPreprocessor(module: WebAssembly.Module): Preprocessor {
  const instances = new Replaceable<ResizeExports>(() => {
    try {
      return instantiate(module, {}) as ResizeExports;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`could not instantiate the WebAssembly SIMD resize (resize-simd.wasm): ${reason}`);
    }
  });
  return {
    resizeWindow: (image, outWidth, outHeight, window, interpolation) =>
      instances.run((wasm) => {
        const layout = new Layout();
        const out = resize(wasm, layout, image, outWidth, outHeight, window, interpolation);
        return new Uint8Array(wasm.memory.buffer, out, window.width * window.height * 3).slice();
      }),
    preprocess: (image, spec) => {
      validatePreprocessInput(image, spec);
      return instances.run((wasm) => preprocess(wasm, image, spec));
    },
  };
}

/** The bytes of two neighbouring pixels as 16-bit lanes r0 r1 g0 g1 b0 b1 0 0 (an index of 128: zero). */
const Z = 128;
const SPREAD_RGB = new Uint8Array([0, Z, 3, Z, 1, Z, 4, Z, 2, Z, 5, Z, Z, Z, Z, Z]);
const SPREAD_RGBA = new Uint8Array([0, Z, 4, Z, 1, Z, 5, Z, 2, Z, 6, Z, Z, Z, Z, Z]);

/**
 * The horizontal kernel as the .wat reads it: per output pixel, `pairsPer` pairs of taps (a missing second
 * tap weighs 0), each as two i32: the taps' weights >> 11 in 16-bit halves (first tap low), then their
 * weights & 2047 likewise. w = (w >> 11) * 2048 + (w & 2047) for every i32 w.
 */
function writeWeightPairs(
  into: Int32Array,
  kernel: { size: number; count: Int32Array; weights: Int32Array },
  pairsPer: number,
): void {
  const { size, count, weights } = kernel;
  for (let x = 0; x < count.length; x++) {
    const n = count[x] as number;
    for (let t = 0; t < n; t += 2) {
      const w0 = weights[x * size + t] as number;
      const w1 = t + 1 < n ? (weights[x * size + t + 1] as number) : 0;
      const at = (x * pairsPer + t / 2) * 2;
      into[at] = ((w0 >> 11) & 0xffff) | ((w1 >> 11) << 16);
      into[at + 1] = (w0 & 2047) | ((w1 & 2047) << 16);
    }
  }
}

/** Offsets handed out in order, each 16-byte aligned and padded. */
class Layout {
  end = 0;
  take(bytes: number): number {
    const at = this.end;
    this.end = at + Math.ceil((bytes + PAD) / PAD) * PAD;
    return at;
  }
}

/** Grows the memory to hold `layout`. */
function growFor(wasm: ResizeExports, layout: Layout): void {
  const have = wasm.memory.buffer.byteLength;
  if (layout.end > have) wasm.memory.grow(Math.ceil((layout.end - have) / PAGE));
}

/** The kernels of one resize, laid out as the .wat reads them. */
interface Kernels {
  /** Source rows the vertical pass reads: only those go through the horizontal pass (and into the memory). */
  rowFirst: number;
  rowEnd: number;
  pairStride: number;
  /** Each output column's first source byte within a row, its tap pairs, its weights (writeWeightPairs). */
  hFirst: Int32Array;
  hPairs: Int32Array;
  hWeights: Int32Array;
  /** Absent where the height does not change. Start rows are relative to rowFirst. */
  vertical?: { size: number; start: Int32Array; count: Int32Array; weights: Int32Array };
}

/**
 * Kernels of the last few resizes, by their parameters: uploads from one camera share sizes, and computing
 * them is most of the JavaScript around the passes (a few kB each).
 */
const kernelCache = new Map<string, Kernels>();
const KERNEL_CACHE_SIZE = 8;

function kernelsFor(
  image: RgbImage,
  outWidth: number,
  outHeight: number,
  window: Window,
  interpolation: Interpolation,
): Kernels {
  const { left, top, width, height } = window;
  const ch = image.channels;
  const key = [
    image.width,
    image.height,
    ch,
    outWidth,
    outHeight,
    left,
    top,
    width,
    height,
    interpolation,
  ].join();
  const cached = kernelCache.get(key);
  if (cached) return cached;
  const vertical =
    outHeight === image.height ? undefined : axisKernel(image.height, outHeight, interpolation, top, height);
  const { first: rowFirst, end: rowEnd } = sourceRows(vertical, top, height);
  // Same width: a one-tap kernel of weight 1.0, which gives back each byte ((p << 22) + (1 << 21)) >> 22.
  const horizontal =
    outWidth === image.width
      ? {
          size: 1,
          start: Int32Array.from({ length: width }, (_, x) => left + x),
          count: new Int32Array(width).fill(1),
          weights: new Int32Array(width).fill(ONE),
        }
      : axisKernel(image.width, outWidth, interpolation, left, width);
  const pairStride = Math.ceil(horizontal.size / 2) * 8;
  const hWeights = new Int32Array((width * pairStride) / 4);
  writeWeightPairs(hWeights, horizontal, pairStride / 8);
  const kernels: Kernels = {
    rowFirst,
    rowEnd,
    pairStride,
    hFirst: horizontal.start.map((x) => x * ch),
    hPairs: horizontal.count.map((n) => Math.ceil(n / 2)),
    hWeights,
    ...(vertical && { vertical: { ...vertical, start: vertical.start.map((y) => y - rowFirst) } }),
  };
  if (kernelCache.size >= KERNEL_CACHE_SIZE) kernelCache.delete(kernelCache.keys().next().value as string);
  kernelCache.set(key, kernels);
  return kernels;
}

/** Resizes into the memory; returns where the window's packed RGB lies. */
function resize(
  wasm: ResizeExports,
  layout: Layout,
  image: RgbImage,
  outWidth: number,
  outHeight: number,
  window: Window,
  interpolation: Interpolation,
): number {
  const { width, height } = window;
  const ch = image.channels;
  const stride = image.width * ch;
  const k = kernelsFor(image, outWidth, outHeight, window, interpolation);
  const { rowFirst, rowEnd, pairStride, vertical } = k;
  const rows = rowEnd - rowFirst;
  const outStride = width * 3;

  const band = Math.min(rows, BAND_ROWS);
  const src = layout.take(band * stride);
  const hFirst = layout.take(width * 4);
  const hPairs = layout.take(width * 4);
  const hWeights = layout.take(k.hWeights.length * 4);
  const hMask = layout.take(16);
  const passed = layout.take(rows * outStride);
  const vStart = vertical ? layout.take(height * 4) : 0;
  const vCount = vertical ? layout.take(height * 4) : 0;
  const vWeights = vertical ? layout.take(vertical.weights.length * 4) : 0;
  const out = vertical ? layout.take(height * outStride) : passed;
  growFor(wasm, layout);

  const heap = wasm.memory.buffer;
  const bytes = new Uint8Array(heap);
  new Int32Array(heap, hFirst, width).set(k.hFirst);
  new Int32Array(heap, hPairs, width).set(k.hPairs);
  new Int32Array(heap, hWeights, k.hWeights.length).set(k.hWeights);
  bytes.set(ch === 3 ? SPREAD_RGB : SPREAD_RGBA, hMask);
  for (let y = 0; y < rows; y += band) {
    const n = Math.min(band, rows - y);
    const from = (rowFirst + y) * stride;
    bytes.set(image.data.subarray(from, from + n * stride), src);
    const into = passed + y * outStride;
    wasm.horizontal(src, stride, ch, n, width, pairStride, hFirst, hPairs, hWeights, hMask, into);
  }
  if (vertical) {
    new Int32Array(heap, vStart, height).set(vertical.start);
    new Int32Array(heap, vCount, height).set(vertical.count);
    new Int32Array(heap, vWeights, vertical.weights.length).set(vertical.weights);
    wasm.vertical(passed, outStride, height, vertical.size, vStart, vCount, vWeights, out);
  }
  return out;
}

function preprocess(wasm: ResizeExports, image: RgbImage, spec: PreprocessSpec): Float32Array {
  const crop = spec.cropSize;
  const { resized, left, top, window } = cropPlan(image, spec);
  const layout = new Layout();
  const pixels = resize(wasm, layout, image, resized.width, resized.height, window, spec.interpolation);
  const plane = crop * crop;
  const tables = layout.take(3 * 256 * 4);
  const tensor = layout.take(3 * plane * 4);
  growFor(wasm, layout);
  const heap = wasm.memory.buffer;
  const [r, g, b] = normalizationTables(spec.mean, spec.std);
  const tableView = new Float32Array(heap, tables, 3 * 256);
  tableView.set(r);
  tableView.set(g, 256);
  tableView.set(b, 512);
  const out = new Float32Array(heap, tensor, 3 * plane);
  // Where the crop extends past the resized image, torchvision's zero padding normalises to table[0].
  if (window.width < crop || window.height < crop) {
    for (let c = 0; c < 3; c++) out.fill(tableView[c * 256] as number, c * plane, (c + 1) * plane);
  }
  const first = tensor + ((window.top - top) * crop + (window.left - left)) * 4;
  wasm.normalize(pixels, window.width, window.height, tables, first, crop * 4, plane * 4);
  return out.slice();
}
