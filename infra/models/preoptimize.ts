// Saves a model folder's graph as onnxruntime optimised it, so the edge can load it with optimisation off
// (a shorter first request, docs/benchmarks.md "Edge cold start"). onnxruntime-node optimises at level
// `extended`, which is portable (no x86 NCHWc layout kernels) and runs on onnxruntime-web's WASM build,
// and writes ONNX with the weights in an external data file. ORT's own format would load about as fast
// but holds the weights inside the graph, and edge models are split to fit a 128 MB isolate.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DATA_FILE, MANIFEST_FILE, MODEL_FILE, ModelManifestSchema } from '../../shared/catalog/manifest.ts';
import { type WrittenFile, writeChunks, writeDirectoryAtomically } from './files.ts';

export const PREOPTIMIZE_LEVEL = 'extended';
/** Initializers smaller than this stay inside the graph (ORT's default threshold). */
const EXTERNAL_MIN_BYTES = 1024;

export interface PreoptimizeResult {
  dir: string;
  files: readonly WrittenFile[];
  optimized: { by: string; level: typeof PREOPTIMIZE_LEVEL };
}

/**
 * Optimises the model in `sourceDir` into `destDir` (model.onnx + model.onnx.data + model.json marked
 * `optimized`, split: true). `destDir` may equal `sourceDir`: the folder is replaced only once complete.
 */
export async function preoptimizeModelDir(
  sourceDir: string,
  destDir: string = sourceDir,
): Promise<PreoptimizeResult> {
  const manifest = JSON.parse(await readFile(path.join(sourceDir, MANIFEST_FILE), 'utf8')) as Record<
    string,
    unknown
  >;
  const parsed = ModelManifestSchema.parse(manifest);
  if (parsed.optimized) throw new Error(`${sourceDir} is already optimised (${parsed.optimized.by})`);
  const by = `onnxruntime-node ${ort.env.versions.node ?? 'unknown'}`;
  const optimized = { by, level: PREOPTIMIZE_LEVEL } as const;
  return writeDirectoryAtomically(destDir, async (tmp) => {
    const session = await ort.InferenceSession.create(path.join(sourceDir, MODEL_FILE), {
      graphOptimizationLevel: PREOPTIMIZE_LEVEL,
      intraOpNumThreads: 1,
      optimizedModelFilePath: path.join(tmp, MODEL_FILE),
      extra: {
        session: {
          optimized_model_external_initializers_file_name: DATA_FILE,
          optimized_model_external_initializers_min_size_in_bytes: String(EXTERNAL_MIN_BYTES),
        },
      },
    });
    await session.release();
    const files: WrittenFile[] = [];
    for (const name of [MODEL_FILE, DATA_FILE]) {
      const bytes = await readFile(path.join(tmp, name));
      files.push({ name, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    const meta = { ...manifest, split: true, optimized, files };
    ModelManifestSchema.parse(meta);
    await writeChunks(path.join(tmp, MANIFEST_FILE), [
      new TextEncoder().encode(`${JSON.stringify(meta, null, 2)}\n`),
    ]);
    return { dir: destDir, files, optimized };
  });
}
