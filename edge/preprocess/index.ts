/// <reference path="./wasm-module.d.ts" />
import resizeWasm from './resize-simd.wasm';
import { simdPreprocessor } from './simd-preprocess.ts';

// The edge's preprocessing: the WebAssembly SIMD build of shared/preprocess's (the same tensor). No
// fallback to the JavaScript one: a module that cannot run is an error that names it, not a silent
// slowdown.
export const edgePreprocess = simdPreprocessor(resizeWasm).preprocess;
