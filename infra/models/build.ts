// Builds EfficientNet ONNX files on disk: <outDir>/<id>/{model.onnx, model.onnx.data?, model.json}.

import { access, constants, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_FILE, MANIFEST_FILE, MODEL_FILE, ModelManifestSchema } from '../../shared/catalog/manifest.ts';
import {
  type CheckpointSource,
  type EfficientNetConfig,
  variantConfig,
} from '../../shared/efficientnet/config.ts';
import { encodePrepared, prepareWeights, type WeightsInput } from '../../shared/efficientnet/export.ts';
import { detectNaming } from '../../shared/efficientnet/fold.ts';
import { BATCH_DIM, INPUT_NAME, OUTPUT_NAME } from '../../shared/efficientnet/graph.ts';
import { isVariant, type Variant } from '../../shared/efficientnet/variants.ts';
import { readSafetensors } from '../../shared/onnx/safetensors.ts';
import { FetchError, fetchPretrained } from './fetch.ts';
import { stderrProgress } from './fetch-progress.ts';
import { type WrittenFile, writeChunks, writeDirectoryAtomically } from './files.ts';
import { normaliseUntrainedLogits } from './logit-scale.ts';
import { preoptimizeModelDir } from './preoptimize.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DEFAULT_OUT_DIR = join(REPO_ROOT, 'models');
export { DATA_FILE, MODEL_FILE };

export type PretrainedSource = Exclude<CheckpointSource, 'random'>;

export interface BuildOptions {
  /** A published variant, or a custom `config` (then `id` names the output folder). */
  readonly variant?: Variant;
  readonly config?: EfficientNetConfig;
  readonly id?: string;
  /** 'random' (default), a .safetensors path, or 'hf:<repo>' (delegated to infra/models/fetch.ts). */
  readonly weights?: string;
  /** Checkpoint family; inferred from the tensor names and file/repo name when omitted. */
  readonly source?: PretrainedSource;
  readonly seed?: number;
  readonly split?: boolean;
  readonly fp16?: boolean;
  /** Save the graph as onnxruntime optimised it, weights split (preoptimize.ts): what the edge deploys. */
  readonly optimize?: boolean;
  readonly outDir?: string;
}

export interface ModelMeta {
  readonly id: string;
  readonly variant: Variant | 'custom';
  readonly resolution: number;
  readonly weights: 'untrained' | 'pretrained';
  readonly source: CheckpointSource;
  readonly seed?: number;
  readonly split: boolean;
  readonly fp16: boolean;
  readonly config: EfficientNetConfig;
  readonly input: { readonly name: string; readonly shape: readonly (string | number)[] };
  readonly output: { readonly name: string; readonly classes: number };
  readonly params: number;
  readonly macs: number;
  readonly files: readonly WrittenFile[];
  readonly optimized?: { readonly by: string; readonly level: string };
  readonly created: string;
}

/** A failure the CLI reports as one line (bad variant, checkpoint, path). */
export class BuildError extends Error {
  override readonly name = 'BuildError';
}

interface ResolvedWeights {
  readonly input: WeightsInput;
  readonly source: CheckpointSource;
}

function inferSource(name: string, naming: 'timm' | 'torchvision'): PretrainedSource {
  if (naming === 'torchvision') return 'torchvision';
  return /(^|[/_.-])tf_efficientnet/.test(name) ? 'tf' : 'timm';
}

async function fetchCheckpoint(repo: string): Promise<string> {
  const progress = stderrProgress(repo);
  try {
    return await fetchPretrained(repo, { onProgress: progress.onProgress });
  } catch (err) {
    if (err instanceof FetchError) throw new BuildError(err.message);
    throw err;
  } finally {
    progress.finish();
  }
}

async function resolveWeights(options: BuildOptions): Promise<ResolvedWeights> {
  const weights = options.weights ?? 'random';
  if (weights === 'random') return { input: { kind: 'random', seed: options.seed ?? 0 }, source: 'random' };
  const isHub = weights.startsWith('hf:');
  const path = isHub ? await fetchCheckpoint(weights.slice(3)) : weights;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new BuildError(
      `cannot read checkpoint ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const tensors = readSafetensors(bytes);
  const naming = detectNaming(tensors);
  if (!naming) {
    throw new BuildError(
      `checkpoint ${path} has neither conv_stem.weight (timm) nor features.0.0.weight (torchvision): not an EfficientNet`,
    );
  }
  const source = options.source ?? inferSource(isHub ? weights : basename(path), naming);
  return { input: { kind: 'checkpoint', tensors, naming }, source };
}

function resolveConfig(
  options: BuildOptions,
  source: CheckpointSource,
): { config: EfficientNetConfig; id: string } {
  if (options.config) {
    const id = options.id ?? 'efficientnet-custom';
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(id)) throw new BuildError(`invalid model id ${JSON.stringify(id)}`);
    return { config: options.config, id };
  }
  const variant = options.variant;
  if (!variant || !isVariant(variant)) {
    throw new BuildError(`unknown variant ${JSON.stringify(variant)}; expected one of b0..b7`);
  }
  return { config: variantConfig(variant, { source }), id: options.id ?? `efficientnet-${variant}` };
}

/** Checks that outDir, or the nearest folder that exists above it, is writable, without creating anything. */
async function ensureWritable(outDir: string): Promise<void> {
  let probe = outDir;
  for (;;) {
    try {
      await access(probe, constants.W_OK);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(probe);
      if (code !== 'ENOENT' || parent === probe) {
        throw new BuildError(`cannot write to ${outDir}: ${code ?? (err as Error).message}`);
      }
      probe = parent;
    }
  }
}

export async function buildModelFiles(options: BuildOptions): Promise<{ dir: string; meta: ModelMeta }> {
  if (options.variant !== undefined && !isVariant(options.variant)) {
    throw new BuildError(`unknown variant ${JSON.stringify(options.variant)}; expected one of b0..b7`);
  }
  if (options.optimize && options.fp16) {
    throw new BuildError(
      '--optimize and --fp16 together are not supported: the optimised graph was only verified in float32',
    );
  }
  const outDir = resolve(options.outDir ?? DEFAULT_OUT_DIR);
  // Cheap checks first: a bad path must not cost a full weight generation.
  await ensureWritable(outDir);
  const weights = await resolveWeights(options);
  const { config, id } = resolveConfig(options, weights.source);
  const split = options.split ?? false;
  const fp16 = options.fp16 ?? false;
  const seed = weights.input.kind === 'random' ? weights.input.seed : undefined;
  const variant = options.config ? 'custom' : (options.variant as Variant);
  const metadata: Record<string, string> = {
    id,
    variant,
    weights: weights.source === 'random' ? 'untrained' : 'pretrained',
    source: weights.source,
    resolution: String(config.resolution),
    ...(seed !== undefined ? { seed: String(seed) } : {}),
  };
  const exportOptions = {
    config,
    weights: weights.input,
    fp16,
    metadata,
    ...(split ? { externalDataLocation: DATA_FILE } : {}),
  };
  const prepared = prepareWeights(config, weights.input);
  if (weights.input.kind === 'random')
    await normaliseUntrainedLogits(prepared, exportOptions, weights.input.seed);
  const exported = encodePrepared(prepared, exportOptions);
  const dir = join(outDir, id);
  try {
    await mkdir(outDir, { recursive: true });
    const meta = await writeDirectoryAtomically(dir, async (tmp) => {
      const files = [await writeChunks(join(tmp, MODEL_FILE), exported.encoded.graphChunks)];
      if (split) files.push(await writeChunks(join(tmp, DATA_FILE), exported.encoded.dataChunks));
      const meta: ModelMeta = {
        id,
        variant,
        resolution: config.resolution,
        weights: weights.source === 'random' ? 'untrained' : 'pretrained',
        source: weights.source,
        ...(seed !== undefined ? { seed } : {}),
        split,
        fp16,
        config,
        input: { name: INPUT_NAME, shape: [BATCH_DIM, 3, config.resolution, config.resolution] },
        output: { name: OUTPUT_NAME, classes: config.numClasses },
        params: exported.params,
        macs: exported.macs,
        files,
        created: new Date().toISOString(),
      };
      // What the services will read back must parse: a mismatch fails here, not at their start.
      ModelManifestSchema.parse(meta);
      await writeChunks(join(tmp, MANIFEST_FILE), [
        new TextEncoder().encode(`${JSON.stringify(meta, null, 2)}\n`),
      ]);
      return meta;
    });
    if (!options.optimize) return { dir, meta };
    const { files, optimized } = await preoptimizeModelDir(dir);
    return { dir, meta: { ...meta, split: true, files, optimized } };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new BuildError(`cannot write ${dir}: ${code} (${(err as Error).message})`);
    throw err;
  }
}
