// Starts onnxruntime-web inside workerd.
//
// workerd refuses to compile WebAssembly from bytes at run time ("Wasm code generation disallowed by
// embedder"): a `.wasm` file has to be imported as a module, which arrives already compiled. ORT 1.30 has
// no public option that accepts a compiled WebAssembly.Module; it only takes `env.wasm.wasmBinary` (bytes)
// or a URL to fetch. So we hand it a tiny placeholder ArrayBuffer as `wasmBinary`, and while ORT starts
// (and only then) we wrap `WebAssembly.instantiate` so that a call carrying the placeholder is answered by
// instantiating the imported module instead. Every other call passes through untouched.
//
// This depends on internals of ORT's Emscripten loader (it calls WebAssembly.instantiate(new
// Uint8Array(wasmBinary), imports)). An upgrade can change that silently, so `withOrt` checks the version
// and fails loudly when the placeholder was never asked for. test/workerd/ort-shim.test.ts checks the
// installed package against ort-expectations.ts; test/workerd/classify.test.ts checks a real start.

import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import * as ort from 'onnxruntime-web/wasm';
import { EXPECTED_ORT_VERSION } from './ort-expectations.ts';

export { EXPECTED_ORT_VERSION, ORT_WASM_FILE } from './ort-expectations.ts';

export class OrtShimError extends Error {
  override name = 'OrtShimError';
}

export type Ort = typeof ort;

let wasmMemory: WebAssembly.Memory | undefined;
let ortReady = false;
let instantiateMs: number | undefined;
let starting: Promise<unknown> | undefined;

/** Bytes of the WebAssembly linear memory ORT runs in (0 before ORT has started). It never shrinks. */
export function wasmHeapBytes(): number {
  return wasmMemory?.buffer.byteLength ?? 0;
}

/** How long instantiating ORT's WASM module took when ORT started (undefined before). */
export function wasmInstantiateMs(): number | undefined {
  return instantiateMs;
}

/** The ORT version string reported by the bundled package. */
export function ortVersion(): string {
  return ort.env.versions.web ?? 'unknown';
}

/**
 * Runs `create`, which must make ORT start (i.e. create an InferenceSession). The first call does so with
 * the shim in place; concurrent callers wait for it, later ones run `create` directly. If the start fails,
 * a later call tries again (ORT itself remembers a failed backend initialisation, see docs/edge.md).
 */
export async function withOrt<T>(create: (runtime: Ort) => Promise<T>): Promise<T> {
  while (!ortReady && starting) await starting.catch(() => undefined);
  if (ortReady) return create(ort);
  const attempt = startOrt(() => create(ort));
  starting = attempt;
  try {
    return await attempt;
  } finally {
    if (starting === attempt) starting = undefined;
  }
}

async function startOrt<T>(firstUse: () => Promise<T>): Promise<T> {
  const version = ortVersion();
  if (version !== EXPECTED_ORT_VERSION) {
    throw new OrtShimError(
      `onnxruntime-web ${version} is bundled but the workerd shim was verified against ${EXPECTED_ORT_VERSION}; re-check edge/inference/ort-wasm-shim.ts`,
    );
  }
  const placeholder = new ArrayBuffer(8);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = placeholder;

  const original = WebAssembly.instantiate;
  let answered = false;
  const intercept = (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (isPlaceholder(source, placeholder)) {
      answered = true;
      wasmMemory = findMemory(imports);
      const started = performance.now();
      return original(ortWasm, imports).then((instance) => {
        instantiateMs = performance.now() - started;
        wasmMemory ??= findMemory(instance.exports);
        return { instance, module: ortWasm };
      });
    }
    return (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
  };
  WebAssembly.instantiate = intercept as typeof WebAssembly.instantiate;
  let result: T;
  try {
    result = await firstUse();
  } finally {
    WebAssembly.instantiate = original;
    // ORT is up once its binary was instantiated, even if this first model then failed to load.
    if (answered) ortReady = true;
  }
  if (!answered) {
    throw new OrtShimError(
      `onnxruntime-web ${version} started without asking WebAssembly.instantiate for the placeholder binary; the workerd shim no longer matches this build`,
    );
  }
  return result;
}

function isPlaceholder(source: unknown, placeholder: ArrayBuffer): boolean {
  if (source === placeholder) return true;
  return ArrayBuffer.isView(source) && source.buffer === placeholder;
}

function findMemory(where: object | undefined): WebAssembly.Memory | undefined {
  if (!where) return undefined;
  for (const value of Object.values(where)) {
    if (value instanceof WebAssembly.Memory) return value;
    if (value && typeof value === 'object') {
      for (const inner of Object.values(value)) if (inner instanceof WebAssembly.Memory) return inner;
    }
  }
  return undefined;
}
