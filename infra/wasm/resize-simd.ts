// Assembles edge/preprocess/resize-simd.wat into the committed resize-simd.wasm with wabt (an npm
// package: no system toolchain). `npm run build:wasm` rewrites the .wasm; a unit test checks that the
// committed file is what the .wat assembles to.
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../edge/preprocess');
export const RESIZE_WAT = path.join(DIR, 'resize-simd.wat');
export const RESIZE_WASM = path.join(DIR, 'resize-simd.wasm');

// Node's type library declares WebAssembly's types but not the global value; it exists at run time.
const wasmApi = (
  globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => WebAssembly.Module } }
).WebAssembly;

/** The committed resize-simd.wasm, compiled (in Node; workerd gets it compiled by wrangler). */
export function compileResizeWasm(): WebAssembly.Module {
  return new wasmApi.Module(readFileSync(RESIZE_WASM));
}

/** The binary the .wat assembles to (SIMD enabled, no names section: the same bytes every time). */
export async function assembleResizeWat(): Promise<Uint8Array> {
  const tools = await wabt();
  const parsed = tools.parseWat(path.basename(RESIZE_WAT), await readFile(RESIZE_WAT, 'utf8'), {
    simd: true,
  });
  try {
    parsed.validate();
    return parsed.toBinary({ write_debug_names: false }).buffer;
  } finally {
    parsed.destroy();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const binary = await assembleResizeWat();
  await writeFile(RESIZE_WASM, binary);
  console.log(`${path.relative(process.cwd(), RESIZE_WASM)}: ${binary.length} bytes`);
}
