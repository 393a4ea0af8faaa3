// Wrangler's default module rules turn an imported `.wasm` file into a compiled WebAssembly.Module.
declare module '*.wasm' {
  const compiled: WebAssembly.Module;
  export default compiled;
}
