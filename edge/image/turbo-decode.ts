import { instantiate, type WasmMemory } from './codec-instance.ts';
import { scaledSide, turboOutputSize } from './decode-plan.ts';

// The TurboJPEG module's exports and the two ways the edge decodes with it. The module (libjpeg-turbo 3.1
// with jpeg-codec/ycc-rgb.c) is built for wasm32 by infra/wasm/build-jpeg.sh as a standalone module with
// no JavaScript glue. setjmp/longjmp are imports: a libjpeg error unwinds as a JS exception through C
// frames, so an instance that threw is never used again. Loading the module is jpeg-turbo.ts's job (tests
// compile it from the file instead).

const TJPF_RGB = 0;
export const TJSAMP_444 = 0;
export const TJSAMP_420 = 2;

export interface ScaledJpeg {
  width: number;
  height: number;
  /** Packed RGB. */
  data: Uint8Array;
}

export interface TurboExports {
  memory: WasmMemory;
  malloc(size: number): number;
  free(pointer: number): void;
  tjInitDecompress(): number;
  tjDestroy(handle: number): number;
  tjDecompressHeader3(
    handle: number,
    src: number,
    size: number,
    width: number,
    height: number,
    subsampling: number,
    colorspace: number,
  ): number;
  tjDecompress2(
    handle: number,
    src: number,
    size: number,
    dst: number,
    width: number,
    pitch: number,
    height: number,
    format: number,
    flags: number,
  ): number;
  tjDecompressToYUVPlanes(
    handle: number,
    src: number,
    size: number,
    planes: number,
    width: number,
    strides: number,
    height: number,
    flags: number,
  ): number;
  tjPlaneWidth(component: number, width: number, subsampling: number): number;
  tjPlaneHeight(component: number, height: number, subsampling: number): number;
  codec_ycc_to_rgb(
    y: number,
    yStride: number,
    cb: number,
    cr: number,
    chromaStride: number,
    chromaWidth: number,
    chromaHeight: number,
    width: number,
    height: number,
    half: number,
    rgb: number,
    scratch: number,
  ): number;
  codec_ycc_scratch_bytes(width: number): number;
  _initialize(): void;
}

export class LibjpegError extends Error {}

const fail = (what: string) => () => {
  throw new LibjpegError(what);
};

/** A TurboJPEG instance of the module infra/wasm/build-jpeg.sh builds (edge/image/jpeg-turbo.wasm). */
export function instantiateTurbo(module: WebAssembly.Module): TurboExports {
  let memory: WasmMemory | undefined;
  const exports = instantiate(module, {
    env: {
      codec_setjmp: () => 0,
      codec_longjmp: fail('corrupt JPEG data'),
      emscripten_notify_memory_growth: () => undefined,
    },
    wasi_snapshot_preview1: {
      // libc asks for the environment (libjpeg reads a few variables): there is none.
      environ_sizes_get: (count: number, size: number) => {
        if (!memory) return 1;
        const view = new DataView(memory.buffer);
        view.setUint32(count, 0, true);
        view.setUint32(size, 0, true);
        return 0;
      },
      environ_get: () => 0,
      proc_exit: fail('proc_exit'),
      fd_close: fail('fd_close'),
      fd_seek: fail('fd_seek'),
      fd_write: fail('fd_write'),
    },
  }) as TurboExports;
  memory = exports.memory;
  exports._initialize();
  return exports;
}

/** libjpeg's own RGB output; returns where it lies in the heap. */
export function decodeRgb(
  tj: TurboExports,
  handle: number,
  src: number,
  length: number,
  out: { width: number; height: number },
): number {
  const dst = tj.malloc(out.width * out.height * 3);
  if (!dst) throw new LibjpegError('out of codec memory');
  if (tj.tjDecompress2(handle, src, length, dst, out.width, out.width * 3, out.height, TJPF_RGB, 0) !== 0)
    throw new LibjpegError('corrupt JPEG data');
  return dst;
}

/**
 * YCbCr planes at the scaled size, then RGB by jpeg-codec/ycc-rgb.c. From 5/8 up this takes about a quarter
 * less time than libjpeg's own RGB output, which enlarges 4:2:0 chroma at 5/8 and 6/8 with a 10x10 or
 * 12x12 IDCT and converts colour one pixel at a time (docs/benchmarks.md). The heap holds planes and RGB
 * at once.
 */
export function decodeViaPlanes(
  tj: TurboExports,
  handle: number,
  src: number,
  length: number,
  out: { width: number; height: number },
  subsampling: number,
): number {
  // Both chroma planes have the same size; strides are the planes' widths (no padding).
  const luma = {
    width: tj.tjPlaneWidth(0, out.width, subsampling),
    height: tj.tjPlaneHeight(0, out.height, subsampling),
  };
  const chroma = {
    width: tj.tjPlaneWidth(1, out.width, subsampling),
    height: tj.tjPlaneHeight(1, out.height, subsampling),
  };
  const lumaBytes = luma.width * luma.height;
  const chromaBytes = chroma.width * chroma.height;
  const y = tj.malloc(lumaBytes + 2 * chromaBytes);
  const table = tj.malloc(24); // three plane pointers, then three strides
  if (!y || !table) throw new LibjpegError('out of codec memory');
  const cb = y + lumaBytes;
  const cr = cb + chromaBytes;
  new Int32Array(tj.memory.buffer, table, 6).set([y, cb, cr, luma.width, chroma.width, chroma.width]);
  if (tj.tjDecompressToYUVPlanes(handle, src, length, table, out.width, table + 12, out.height, 0) !== 0)
    throw new LibjpegError('corrupt JPEG data');
  const dst = tj.malloc(out.width * out.height * 3);
  const scratch = tj.malloc(tj.codec_ycc_scratch_bytes(out.width));
  if (!dst || !scratch) throw new LibjpegError('out of codec memory');
  const half = subsampling === TJSAMP_420 ? 1 : 0;
  const { width, height } = out;
  if (
    tj.codec_ycc_to_rgb(
      y,
      luma.width,
      cb,
      cr,
      chroma.width,
      chroma.width,
      chroma.height,
      width,
      height,
      half,
      dst,
      scratch,
    ) !== 0
  )
    throw new LibjpegError(`the YCbCr planes do not cover ${out.width}x${out.height}`);
  tj.free(scratch);
  tj.free(table);
  tj.free(y);
  return dst;
}

/**
 * Decodes the JPEG at `src` in `tj`'s heap at `scaleEighths`/8. libjpeg reads the header first; its frame
 * size must equal `expected` (the header walk's) before anything is allocated for the output. `planar`
 * (the plan's choice, decode-plan.ts) lets a 4:2:0 or 4:4:4 file go through YCbCr planes
 * (decodeViaPlanes); anything else gets libjpeg's RGB output. `take` gets a view of the RGB in the heap, valid only during the call.
 */
export function decodeInHeap<T>(
  tj: TurboExports,
  src: number,
  length: number,
  expected: { width: number; height: number },
  scaleEighths: number,
  take: (pixels: ScaledJpeg) => T,
  planar: boolean,
): T {
  const info = tj.malloc(16);
  const handle = tj.tjInitDecompress();
  if (!info || !handle) throw new LibjpegError('out of codec memory');
  if (tj.tjDecompressHeader3(handle, src, length, info, info + 4, info + 8, info + 12) !== 0)
    throw new LibjpegError('unreadable JPEG header');
  const [width, height, subsampling] = new Int32Array(tj.memory.buffer, info, 3);
  if (width !== expected.width || height !== expected.height) {
    throw new LibjpegError(
      `libjpeg reads the frame as ${width}x${height}, the header walk as ${expected.width}x${expected.height}`,
    );
  }
  const out = { width: scaledSide(width, scaleEighths), height: scaledSide(height, scaleEighths) };
  // The pixels are read back as out.width x out.height: TurboJPEG must write exactly that.
  const written = turboOutputSize({ width, height }, out);
  if (written?.width !== out.width || written.height !== out.height)
    throw new LibjpegError(
      `TurboJPEG cannot decode ${width}x${height} to exactly ${out.width}x${out.height}`,
    );
  const viaPlanes = planar && (subsampling === TJSAMP_420 || subsampling === TJSAMP_444);
  const dst = viaPlanes
    ? decodeViaPlanes(tj, handle, src, length, out, subsampling)
    : decodeRgb(tj, handle, src, length, out);
  const kept = take({
    width: out.width,
    height: out.height,
    data: new Uint8Array(tj.memory.buffer, dst, out.width * out.height * 3),
  });
  tj.free(dst);
  tj.free(info);
  tj.tjDestroy(handle);
  return kept;
}
