/// <reference path="./wasm-modules.d.ts" />
import turboWasm from '@cwasm/jpeg-turbo/jpeg-turbo.wasm';
import { instantiate, Replaceable, type WasmMemory } from './codec-instance.ts';

// libjpeg-turbo 2.0 (TurboJPEG API) built for wasm32 by @cwasm/jpeg-turbo. Its own glue compiles the module
// from bytes, which workerd forbids, so the module wrangler compiled is instantiated here. The build
// stubs setjmp/longjmp: a libjpeg error unwinds as a JS exception through C frames, so an instance that
// threw is never used again.

const TJPF_RGB = 0;

interface TurboExports {
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
}

class LibjpegError extends Error {}

const fail = (what: string) => () => {
  throw new LibjpegError(what);
};

const turbo = new Replaceable<TurboExports>(() => {
  const exports = instantiate(turboWasm, {
    env: { setjmp: () => 0, longjmp: fail('corrupt JPEG data') },
    wasi_snapshot_preview1: {
      environ_sizes_get: () => 0,
      environ_get: fail('environ_get'),
      proc_exit: fail('proc_exit'),
      fd_close: fail('fd_close'),
      fd_seek: fail('fd_seek'),
      fd_write: fail('fd_write'),
    },
  });
  return exports as TurboExports;
});

export interface ScaledJpeg {
  width: number;
  height: number;
  /** Packed RGB. */
  data: Uint8Array;
}

/** Instances created so far (a new one after every failure or large decode). */
export function jpegInstancesCreated(): number {
  return turbo.created;
}

/**
 * Decodes with DCT scaling to `width` x `height` (the image's size divided by 1, 2, 4 or 8, rounded up).
 * libjpeg reads the header first; its frame size must equal `expected` before the output is allocated.
 * `take` gets a view into the codec's heap, valid only during the call: it makes the one copy the caller
 * keeps (rotated, or plain), so the pixels are not copied twice.
 */
export function decodeJpegScaled<T>(
  bytes: Uint8Array,
  expected: { width: number; height: number },
  out: { width: number; height: number },
  take: (pixels: ScaledJpeg) => T,
): T {
  return turbo.run((tj) => {
    const src = tj.malloc(bytes.length);
    const info = tj.malloc(16);
    const handle = tj.tjInitDecompress();
    if (!src || !info || !handle) throw new LibjpegError('out of codec memory');
    new Uint8Array(tj.memory.buffer, src, bytes.length).set(bytes);
    if (tj.tjDecompressHeader3(handle, src, bytes.length, info, info + 4, info + 8, info + 12) !== 0)
      throw new LibjpegError('unreadable JPEG header');
    const [width, height] = new Int32Array(tj.memory.buffer, info, 2);
    if (width !== expected.width || height !== expected.height) {
      throw new LibjpegError(
        `libjpeg reads the frame as ${width}x${height}, the header walk as ${expected.width}x${expected.height}`,
      );
    }
    const size = out.width * out.height * 3;
    const dst = tj.malloc(size);
    if (!dst) throw new LibjpegError('out of codec memory');
    // Asked for a smaller size, TurboJPEG picks the largest DCT scaling factor that fits inside it.
    if (
      tj.tjDecompress2(handle, src, bytes.length, dst, out.width, out.width * 3, out.height, TJPF_RGB, 0) !==
      0
    )
      throw new LibjpegError('corrupt JPEG data');
    const kept = take({
      width: out.width,
      height: out.height,
      data: new Uint8Array(tj.memory.buffer, dst, size),
    });
    tj.free(dst);
    tj.free(src);
    tj.free(info);
    tj.tjDestroy(handle);
    return kept;
  });
}
