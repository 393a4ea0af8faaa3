// Guards the workerd start-up shim for onnxruntime-web (edge/inference/ort-wasm-shim.ts) against an ORT
// upgrade: the installed package must be exactly the verified release, still ship the binary the shim
// imports, and its loader must still take the code path the shim intercepts. That a session really starts
// in workerd is asserted by classify.test.ts ("cold isolate").
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EXPECTED_ORT_VERSION,
  ORT_WASM_FILE,
  ORT_WASM_IMPORT,
} from '../../edge/inference/ort-expectations.ts';
import { REPO_ROOT } from '../../infra/dev/workerd.ts';

const ORT_DIR = path.join(REPO_ROOT, 'node_modules/onnxruntime-web');
const pkg = JSON.parse(readFileSync(path.join(ORT_DIR, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, unknown>;
};

describe('onnxruntime-web matches what the workerd shim was verified against', () => {
  it(`is exactly ${EXPECTED_ORT_VERSION}: re-verify the shim before changing the pin`, () => {
    expect(pkg.version).toBe(EXPECTED_ORT_VERSION);
  });

  it(`exports ${ORT_WASM_FILE}, and the shim imports it by that name`, () => {
    expect(pkg.exports[`./${ORT_WASM_FILE}`]).toBe(`./dist/${ORT_WASM_FILE}`);
    const shim = readFileSync(path.join(REPO_ROOT, 'edge/inference/ort-wasm-shim.ts'), 'utf8');
    expect(shim).toContain(`from '${ORT_WASM_IMPORT}'`);
  });

  it('its wasm bundle loads that binary and honours wasmBinary through WebAssembly.instantiate', () => {
    const bundle = readFileSync(path.join(ORT_DIR, 'dist/ort.wasm.bundle.min.mjs'), 'utf8');
    expect(bundle).toContain(ORT_WASM_FILE);
    expect(bundle).toContain(`"${EXPECTED_ORT_VERSION}"`);
    // The shim answers WebAssembly.instantiate(new Uint8Array(<placeholder>), imports).
    expect(bundle).toMatch(/new Uint8Array\(\w+\).{0,200}WebAssembly\.instantiate\(/s);
    expect(bundle).toMatch(/\.wasmBinary/);
  });
});
