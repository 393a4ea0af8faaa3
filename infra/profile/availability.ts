// Whether the requested runtime and provider can run on this machine. An unavailable one is reported, not
// substituted: a CPU figure filed under cuda would be worse than no figure.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Provider, Runtime } from './args.ts';

const require = createRequire(import.meta.url);

export class UnavailableError extends Error {
  override name = 'UnavailableError';
}

function packageDir(name: string): string | null {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

/** onnxruntime-node's native folder for this platform, e.g. bin/napi-v6/linux/x64. */
function ortNodeBinDir(root: string): string | null {
  const bin = path.join(root, 'bin');
  if (!existsSync(bin)) return null;
  for (const napi of readdirSync(bin)) {
    const dir = path.join(bin, napi, process.platform, process.arch);
    if (existsSync(dir)) return dir;
  }
  return null;
}

/** Throws UnavailableError saying what is missing. */
export function checkAvailable(runtime: Runtime, provider: Provider): void {
  if (runtime === 'edge') {
    if (provider !== 'cpu')
      throw new UnavailableError(
        `the edge runs onnxruntime-web's WASM build on one CPU thread; provider ${provider} does not exist there`,
      );
    if (process.platform !== 'linux')
      throw new UnavailableError('edge profiling reads workerd memory from /proc: Linux only');
    const workerd = packageDir('workerd');
    if (!workerd || !existsSync(path.join(workerd, 'bin', 'workerd')))
      throw new UnavailableError('workerd is not installed (npm ci installs it with wrangler)');
    return;
  }
  const ortNode = packageDir('onnxruntime-node');
  const bin = ortNode ? ortNodeBinDir(ortNode) : null;
  if (!ortNode || !bin)
    throw new UnavailableError(
      `onnxruntime-node has no native binary for ${process.platform}/${process.arch} here`,
    );
  if (provider === 'cuda') {
    const library = 'libonnxruntime_providers_cuda.so';
    if (!existsSync(path.join(bin, library)))
      throw new UnavailableError(
        `CUDA is not available: onnxruntime-node has no ${library} in ${path.relative(process.cwd(), bin)} ` +
          '(installed with onnxruntime-node-install=skip; a GPU host installs it with --onnxruntime-node-install=cuda12)',
      );
  }
}
