// wrangler compiles `.wasm` imports to WebAssembly.Module (workerd refuses to compile WebAssembly from
// bytes at run time).
declare module '*/resize-simd.wasm' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
