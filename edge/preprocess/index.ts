/// <reference path="./wasm-module.d.ts" />
import resizeWasm from './resize-simd.wasm';
import { simdResizeWindow } from './simd-resize.ts';

// The edge's resize: the WebAssembly SIMD build of shared/preprocess's resizeWindow (same bytes). No
// fallback to the JavaScript one: a module that cannot run is an error that names it, not a silent
// slowdown.
export const edgeResizeWindow = simdResizeWindow(resizeWasm);
