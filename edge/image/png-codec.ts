/// <reference path="./wasm-modules.d.ts" />
import pngWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import { instantiate, Replaceable, type WasmMemory } from './codec-instance.ts';

// The Rust png crate as built by @jsquash/png (wasm-bindgen). Its generated glue keeps one instance in a
// module variable forever, so a decode that panicked would keep its buffers for the isolate's lifetime.
// This binds the same exports to an instance of our own that can be replaced.
//
// Residual risk: a failed instance's memory returns only when V8 collects it (~4 MiB per failed 1 MP PNG
// for a while). Truncated and CRC-damaged files never get here (png-complete.ts); what does is a PNG with
// intact chunks whose zlib stream or filters are broken, which costs the sender a deliberate effort. Keeping
// one instance and restoring its heap from a snapshot was considered and rejected: the module's only
// mutable global (the stack pointer) could be restored through __wbindgen_add_to_stack_pointer, but its
// allocator (Rust dlmalloc) takes new regions from memory.grow, so once its state is rewound the pages
// grown during the failed decode sit above its known heap and are never reused: the kept instance would
// grow by the same amount on every failure, and memory cannot shrink. (Tried on a 1 MP PNG with a cut zlib
// stream, memory and stack pointer rewound after each failure: the heap went 4.8, 8.4, 12.1, 15.8 MiB.)

interface PngExports {
  memory: WasmMemory;
  decode(pointer: number, length: number): number;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(pointer: number, size: number, align: number): void;
}

class PngCodecError extends Error {}

export interface RgbaResult {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** Set by the glue import while `decode` runs: the output size it must produce. */
let expected: { width: number; height: number } | undefined;
let result: RgbaResult | undefined;

const png = new Replaceable<PngExports>(() => {
  const created = instantiate(pngWasm, {
    wbg: {
      __wbindgen_memory: () => 0,
      __wbg_buffer_a448f833075b71ba: () => 0,
      __wbg_newwithbyteoffsetandlength_099217381c451830: () => 0,
      __wbindgen_object_drop_ref: () => undefined,
      __wbg_newwithownedu8clampedarrayandsh_91db5987993a08fb: (
        pointer: number,
        length: number,
        width: number,
        height: number,
      ) => {
        const wasm = created as PngExports;
        // The decoder reports its output size here, before anything is copied out of its heap.
        if (
          !expected ||
          width !== expected.width ||
          height !== expected.height ||
          length !== width * height * 4
        )
          throw new PngCodecError(
            `decoder produced ${width}x${height}, the header says ${expected?.width}x${expected?.height}`,
          );
        const data = new Uint8ClampedArray(wasm.memory.buffer, pointer >>> 0, length).slice();
        wasm.__wbindgen_free(pointer, length, 1);
        result = { width, height, data };
        return 0;
      },
      __wbindgen_throw: (pointer: number, length: number) => {
        const bytes = new Uint8Array((created as PngExports).memory.buffer, pointer >>> 0, length);
        throw new PngCodecError(new TextDecoder().decode(bytes));
      },
    },
  });
  return created as PngExports;
});

export function pngInstancesCreated(): number {
  return png.created;
}

/** Decodes to 8-bit RGBA; the decoder's output must be `size`. */
export function decodePngRgba(bytes: Uint8Array, size: { width: number; height: number }): RgbaResult {
  return png.run((wasm) => {
    expected = size;
    result = undefined;
    try {
      const pointer = wasm.__wbindgen_malloc(bytes.length, 1) >>> 0;
      new Uint8Array(wasm.memory.buffer, pointer, bytes.length).set(bytes);
      wasm.decode(pointer, bytes.length);
      if (!result) throw new PngCodecError('the PNG decoder returned no image');
      return result;
    } finally {
      expected = undefined;
      result = undefined;
    }
  });
}
