// What starting the Worker costs before its first request: wrangler's runtime start (Miniflare spawning
// workerd, workerd compiling the bundle's modules and running their top-level code, then listening),
// for the edge bundle and for two reference bundles with the same bindings booted in the same rounds:
// one that imports nothing, and one that imports only the bundle's WASM modules. The differences split
// the bundle's own start into compiling its WASM modules and compiling + evaluating its JavaScript:
// costs a deployed Worker also pays when an isolate starts, unlike workerd's and Miniflare's own start.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bootWorker, type ModelFiles } from '../dev/workerd.ts';
import { median, round } from './edge-measure.ts';

/** The reference bundles next to `prebuilt`: `empty` and `wasm-only` (the same .wasm files, imported). */
export async function referenceBundles(prebuilt: string, scratch: string): Promise<Record<string, string>> {
  const empty = path.join(scratch, 'startup-empty');
  const wasmOnly = path.join(scratch, 'startup-wasm-only');
  await mkdir(empty, { recursive: true });
  await mkdir(wasmOnly, { recursive: true });
  await writeFile(path.join(empty, 'index.js'), "export default { fetch: () => new Response('ok') };\n");
  const wasm = (await readdir(prebuilt)).filter((name) => name.endsWith('.wasm'));
  for (const name of wasm) await copyFile(path.join(prebuilt, name), path.join(wasmOnly, name));
  // Each module is used, so that no bundler or runtime could drop it.
  const imports = wasm.map((name, i) => `import m${i} from './${name}';`).join('\n');
  const used = wasm.map((_, i) => `WebAssembly.Module.exports(m${i}).length`).join(', ');
  await writeFile(
    path.join(wasmOnly, 'index.js'),
    `${imports}\nexport default { fetch: () => new Response(String([${used}])) };\n`,
  );
  return { empty, wasm_only: wasmOnly };
}

export interface StartupResult {
  /** Medians of wrangler's runtime start (runtimeStartMs) per bundle. */
  runtime_start_ms: Record<'empty' | 'wasm_only' | 'edge', number>;
  /** edge - empty: the bundle's own start, paid by a deployed isolate too. */
  bundle_start_ms: number;
  wasm_compile_ms: number;
  script_ms: number;
  each_ms: Record<'empty' | 'wasm_only' | 'edge', number[]>;
}

/** `rounds` rounds, each booting the empty, wasm-only and edge bundles in turn, with `files` in R2. */
export async function measureStartup(
  prebuilt: string,
  scratch: string,
  files: readonly ModelFiles[],
  rounds: number,
  log: (message: string) => void,
): Promise<StartupResult> {
  const references = await referenceBundles(prebuilt, scratch);
  const bundles = { empty: references.empty, wasm_only: references.wasm_only, edge: prebuilt } as Record<
    'empty' | 'wasm_only' | 'edge',
    string
  >;
  const each: StartupResult['each_ms'] = { empty: [], wasm_only: [], edge: [] };
  for (let r = 0; r < rounds; r++) {
    for (const [name, dir] of Object.entries(bundles) as ['empty' | 'wasm_only' | 'edge', string][]) {
      log(`startup ${name}, round ${r + 1}`);
      const worker = await bootWorker({ models: files, prebuilt: dir, logLevel: 'none' });
      try {
        each[name].push(round(await worker.startup.runtimeStartMs));
        // The Worker answers: the runtime really loaded this bundle.
        const response = await worker.fetchDirect(name === 'edge' ? '/healthz' : '/');
        if (response.status !== 200) throw new Error(`${name} answered ${response.status}`);
        await response.arrayBuffer();
      } finally {
        await worker.dispose();
      }
    }
  }
  const start = {
    empty: round(median(each.empty)),
    wasm_only: round(median(each.wasm_only)),
    edge: round(median(each.edge)),
  };
  return {
    runtime_start_ms: start,
    bundle_start_ms: round(start.edge - start.empty),
    wasm_compile_ms: round(start.wasm_only - start.empty),
    script_ms: round(start.edge - start.wasm_only),
    each_ms: each,
  };
}
