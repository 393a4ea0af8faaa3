// What the workerd shim (ort-wasm-shim.ts) was verified against. Kept import-free so Node-side tests can
// compare it with the installed package without loading ORT or its .wasm module.

/** The ORT release the shim was written for; another one must be re-verified before it is allowed. */
export const EXPECTED_ORT_VERSION = '1.30.0';
/** The binary `onnxruntime-web/wasm` loads (the SIMD build; threads stay off because numThreads = 1). */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.wasm';
/** The package export the shim imports it through (must match the import in ort-wasm-shim.ts). */
export const ORT_WASM_IMPORT = `onnxruntime-web/${ORT_WASM_FILE}`;
