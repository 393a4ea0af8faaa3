import { PUBLISHED_SCALING, VARIANTS, type Variant } from '../efficientnet/variants.ts';
import type { PreprocessSpec } from '../preprocess/spec.ts';

// The served models and, per weight source, the exact preprocessing those weights were trained with.

export const MODEL_IDS = VARIANTS.map((v) => `efficientnet-${v}` as const) as [ModelId, ...ModelId[]];
export type ModelId = `efficientnet-${Variant}`;

/** Where the weights came from; it decides padding, BatchNorm eps and preprocessing. */
export const WEIGHT_SOURCES = ['random', 'tf', 'tf_ap', 'timm', 'torchvision'] as const;
export type WeightSource = (typeof WEIGHT_SOURCES)[number];

export type Placement = 'edge' | 'origin';

export interface CatalogEntry {
  readonly id: ModelId;
  readonly variant: Variant;
  readonly resolution: number;
  readonly width: number;
  readonly depth: number;
  /** Edge models must fit a 128 MB isolate next to the ORT heap; the rest run on the GPU origin. */
  readonly placement: Placement;
  /** Hugging Face repository of the default pretrained weights. */
  readonly pretrainedRepo: string;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
const HALF = [0.5, 0.5, 0.5] as const;

const EDGE_VARIANTS: readonly Variant[] = ['b0', 'b1'];

export const CATALOG: Readonly<Record<ModelId, CatalogEntry>> = Object.fromEntries(
  VARIANTS.map((variant) => {
    const id: ModelId = `efficientnet-${variant}`;
    const { width, depth, resolution } = PUBLISHED_SCALING[variant];
    const entry: CatalogEntry = {
      id,
      variant,
      resolution,
      width,
      depth,
      placement: EDGE_VARIANTS.includes(variant) ? 'edge' : 'origin',
      pretrainedRepo: `timm/tf_efficientnet_${variant}.ns_jft_in1k`,
    };
    return [id, entry];
  }),
) as Record<ModelId, CatalogEntry>;

// timm's tf_efficientnet_* evaluation crop fractions (resize shorter side to floor(size / crop_pct)).
const TF_CROP_PCT: Readonly<Record<Variant, number>> = {
  b0: 0.875,
  b1: 0.882,
  b2: 0.89,
  b3: 0.904,
  b4: 0.922,
  b5: 0.934,
  b6: 0.942,
  b7: 0.949,
};

// timm's efficientnet_bN (PyTorch-trained) evaluate at their own test size; b6/b7 were never released.
const TIMM_EVAL: Partial<Record<Variant, { size: number; cropPct: number }>> = {
  b0: { size: 224, cropPct: 0.875 },
  b1: { size: 256, cropPct: 1.0 },
  b2: { size: 288, cropPct: 1.0 },
  b3: { size: 320, cropPct: 1.0 },
  b4: { size: 384, cropPct: 1.0 },
  b5: { size: 448, cropPct: 1.0 },
};

// torchvision's IMAGENET1K_V1 weights: Resize(resize) then CenterCrop(crop), bicubic.
const TORCHVISION_EVAL: Readonly<Record<Variant, { crop: number; resize: number }>> = {
  b0: { crop: 224, resize: 256 },
  b1: { crop: 240, resize: 256 },
  b2: { crop: 288, resize: 288 },
  b3: { crop: 300, resize: 320 },
  b4: { crop: 380, resize: 384 },
  b5: { crop: 456, resize: 456 },
  b6: { crop: 528, resize: 528 },
  b7: { crop: 600, resize: 600 },
};

export class CatalogError extends Error {}

/** The preprocessing that matches weights from `source`; the crop size is also the graph's input size. */
export function preprocessFor(variant: Variant, source: WeightSource): PreprocessSpec {
  switch (source) {
    case 'random':
    case 'tf':
    case 'tf_ap': {
      const cropSize = PUBLISHED_SCALING[variant].resolution;
      return {
        cropSize,
        resizeShorterSide: Math.floor(cropSize / TF_CROP_PCT[variant]),
        interpolation: 'bicubic',
        mean: source === 'tf_ap' ? HALF : IMAGENET_MEAN,
        std: source === 'tf_ap' ? HALF : IMAGENET_STD,
      };
    }
    case 'timm': {
      const evalSize = TIMM_EVAL[variant];
      if (!evalSize)
        throw new CatalogError(
          `timm publishes no efficientnet_${variant} weights; use tf_efficientnet_${variant}`,
        );
      return {
        cropSize: evalSize.size,
        resizeShorterSide: Math.floor(evalSize.size / evalSize.cropPct),
        interpolation: 'bicubic',
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
      };
    }
    case 'torchvision': {
      const { crop, resize } = TORCHVISION_EVAL[variant];
      return {
        cropSize: crop,
        resizeShorterSide: resize,
        interpolation: 'bicubic',
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
      };
    }
  }
}
