import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  CatalogError,
  IMAGENET_MEAN,
  IMAGENET_STD,
  preprocessFor,
  WEIGHT_SOURCES,
} from '../../shared/catalog/models.ts';
import { VARIANTS } from '../../shared/efficientnet/variants.ts';
import type { PreprocessSpec } from '../../shared/preprocess/index.ts';
import { PUBLISHED_MACS } from './published-macs.ts';

// Turns the catalog formats the eval understands into one description per model:
//  1. the MobileNet models.json beside the shared photos ({ common, models: [{ file, size }] });
//  2. a model directory written by the model factory (model.json next to model.onnx), or a folder of them;
//  3. an explicit list ({ models: [{ name, file, preprocess, output, labelOffset }] }) for any other classifier.

export interface EvalModel {
  /** What --edge / --origin match: the file name without ".onnx", or the factory id. */
  readonly name: string;
  readonly path: string;
  readonly preprocess: PreprocessSpec;
  readonly output: 'logits' | 'probabilities';
  /** Output index of ImageNet class 0 (1 when index 0 is a background class). */
  readonly labelOffset: number;
  readonly publishedMacs?: number;
  /** Accuracy the catalog claims on its reference photos, to compare with what the eval measures. */
  readonly reference?: { readonly top1: number; readonly top5: number };
}

export class EvalInputError extends Error {}

const triple = z.tuple([z.number(), z.number(), z.number()]);

const mobilenetCatalog = z.object({
  common: z.object({
    output: z.object({ kind: z.string(), background_index: z.number().int().optional() }),
    preprocess: z.object({ resize: z.string(), crop: z.string(), normalize: z.string() }),
  }),
  models: z.array(
    z.object({
      file: z.string().min(1),
      size: z.number().int().positive(),
      val100_top1: z.number().optional(),
      val100_top5: z.number().optional(),
    }),
  ),
});

const explicitCatalog = z.object({
  models: z.array(
    z.object({
      name: z.string().min(1),
      file: z.string().min(1),
      preprocess: z.object({
        cropSize: z.number().int().positive(),
        resizeShorterSide: z.number().int().positive(),
        interpolation: z.enum(['bilinear', 'bicubic']),
        mean: triple,
        std: triple,
      }),
      output: z.enum(['logits', 'probabilities']),
      labelOffset: z.number().int().min(0).default(0),
      macs: z.number().positive().optional(),
    }),
  ),
});

const factoryModel = z.object({
  id: z.string().min(1),
  variant: z.union([z.enum(VARIANTS), z.literal('custom')]).optional(),
  resolution: z.number().int().positive(),
  source: z.enum(WEIGHT_SOURCES).optional(),
  output: z.object({ name: z.string() }).optional(),
  macs: z.number().positive().optional(),
});

// The MobileNet file describes its preprocessing in prose; accept exactly the recipe it states, so that a
// changed description fails loudly instead of being misread.
function mobilenetPreprocess(
  common: z.infer<typeof mobilenetCatalog>['common'],
  size: number,
): PreprocessSpec {
  const { resize, crop, normalize } = common.preprocess;
  const known =
    /shorter side to round\(size\s*\*\s*256\s*\/\s*224\),\s*bilinear/.test(resize) &&
    /center crop size x size/.test(crop) &&
    /\(pixel - 128\) \/ 128/.test(normalize);
  if (!known)
    throw new EvalInputError(`unrecognised preprocessing description: ${JSON.stringify(common.preprocess)}`);
  const half = 128 / 255; // (p - 128) / 128 on 0..255 equals (p/255 - 128/255) / (128/255) on 0..1
  return {
    cropSize: size,
    resizeShorterSide: Math.round((size * 256) / 224),
    interpolation: 'bilinear',
    mean: [half, half, half],
    std: [half, half, half],
  };
}

function fromMobilenet(doc: z.infer<typeof mobilenetCatalog>, dir: string): EvalModel[] {
  const kind = doc.common.output.kind.toLowerCase();
  const output = kind.includes('probabilit') && !kind.startsWith('logits') ? 'probabilities' : 'logits';
  const labelOffset = doc.common.output.background_index === 0 ? 1 : 0;
  return doc.models.map((m) => ({
    name: basename(m.file, '.onnx'),
    path: join(dir, m.file),
    preprocess: mobilenetPreprocess(doc.common, m.size),
    output,
    labelOffset,
    ...(PUBLISHED_MACS[m.file] !== undefined ? { publishedMacs: PUBLISHED_MACS[m.file] } : {}),
    ...(m.val100_top1 !== undefined && m.val100_top5 !== undefined
      ? { reference: { top1: m.val100_top1, top5: m.val100_top5 } }
      : {}),
  }));
}

function fromExplicit(doc: z.infer<typeof explicitCatalog>, dir: string): EvalModel[] {
  return doc.models.map((m) => ({
    name: m.name,
    path: resolve(dir, m.file),
    preprocess: m.preprocess,
    output: m.output,
    labelOffset: m.labelOffset,
    ...(m.macs !== undefined ? { publishedMacs: m.macs } : {}),
  }));
}

function fromFactory(doc: z.infer<typeof factoryModel>, dir: string): EvalModel {
  let preprocess: PreprocessSpec;
  if (doc.variant && doc.variant !== 'custom') {
    try {
      preprocess = preprocessFor(doc.variant, doc.source ?? 'random');
    } catch (e) {
      if (e instanceof CatalogError) throw new EvalInputError(`${doc.id}: ${e.message}`);
      throw e;
    }
  } else {
    // Custom configurations have no published recipe: the timm/TF default (crop fraction 0.875, bicubic).
    preprocess = {
      cropSize: doc.resolution,
      resizeShorterSide: Math.floor(doc.resolution / 0.875),
      interpolation: 'bicubic',
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
    };
  }
  return {
    name: doc.id,
    path: join(dir, 'model.onnx'),
    preprocess,
    output: 'logits',
    labelOffset: 0,
    ...(doc.macs !== undefined ? { publishedMacs: doc.macs } : {}),
  };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EvalInputError(`cannot read catalog ${file}: ${(e as Error).message}`);
  }
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

function loadFile(file: string): EvalModel[] {
  const doc = readJson(file);
  const dir = dirname(file);
  if (typeof doc === 'object' && doc !== null && 'common' in doc) {
    const parsed = mobilenetCatalog.safeParse(doc);
    if (!parsed.success) throw new EvalInputError(`${file}: ${issues(parsed.error)}`);
    return fromMobilenet(parsed.data, dir);
  }
  if (typeof doc === 'object' && doc !== null && 'models' in doc) {
    const parsed = explicitCatalog.safeParse(doc);
    if (!parsed.success) throw new EvalInputError(`${file}: ${issues(parsed.error)}`);
    return fromExplicit(parsed.data, dir);
  }
  const parsed = factoryModel.safeParse(doc);
  if (!parsed.success)
    throw new EvalInputError(`${file}: not a known catalog format (${issues(parsed.error)})`);
  return [fromFactory(parsed.data, dir)];
}

/** Loads a catalog file, a factory model directory, or a folder of factory model directories. */
export function loadCatalog(path: string): EvalModel[] {
  if (!existsSync(path)) throw new EvalInputError(`catalog not found: ${path}`);
  if (!statSync(path).isDirectory()) return loadFile(path);
  const own = join(path, 'model.json');
  if (existsSync(own)) return loadFile(own);
  const models = readdirSync(path)
    .map((entry) => join(path, entry, 'model.json'))
    .filter((file) => existsSync(file))
    .flatMap(loadFile);
  if (models.length === 0) throw new EvalInputError(`no model.json found in ${path} or its subfolders`);
  return models;
}

export function pickModel(models: readonly EvalModel[], name: string): EvalModel {
  const wanted = name.endsWith('.onnx') ? name.slice(0, -'.onnx'.length) : name;
  const found = models.find((m) => m.name === wanted);
  if (!found) {
    throw new EvalInputError(
      `model "${name}" is not in the catalog (known: ${models.map((m) => m.name).join(', ')})`,
    );
  }
  if (!existsSync(found.path)) throw new EvalInputError(`model file missing: ${found.path}`);
  return found;
}
