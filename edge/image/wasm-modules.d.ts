// The codec binaries, imported as modules: wrangler compiles `.wasm` imports to WebAssembly.Module
// (workerd refuses to compile WebAssembly from bytes at run time).
declare module '*/jpeg-turbo.wasm' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
declare module '@jsquash/png/codec/pkg/squoosh_png_bg.wasm' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
declare module '@jsquash/webp/codec/dec/webp_dec.wasm' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
