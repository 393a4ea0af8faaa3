// Image limits for the two places an image can go: decoded here at the edge (reduced-scale JPEG, per-format
// decode budget), or forwarded to the origin, which decodes at full size.
import {
  CATALOG,
  MODEL_IDS,
  type ModelId,
  preprocessFor,
  WEIGHT_SOURCES,
} from '../../shared/catalog/models.ts';
import { DEFAULT_LIMITS, type ImageLimits } from './limits.ts';

/** Limits for forwarding (the origin decodes at full size): stored pixels. */
export function imageLimits(maxBytes: number, maxPixels: number | undefined): ImageLimits {
  return { ...DEFAULT_LIMITS, maxBytes, maxPixels: maxPixels ?? DEFAULT_LIMITS.maxPixels };
}

/**
 * The shortest side a JPEG decoded for `model` keeps: twice the largest resize target of its weight
 * sources, so the exact resize after the DCT reduction still halves the image or more (B0: 2 x 256 = 512;
 * B1: 2 x 272 = 544, its tf weights).
 */
export function decodeMinSideFor(model: ModelId): number {
  const { variant } = CATALOG[model];
  return (
    2 *
    Math.max(
      ...WEIGHT_SOURCES.flatMap((source) => {
        try {
          return [preprocessFor(variant, source).resizeShorterSide];
        } catch {
          return []; // no such weights for this variant
        }
      }),
    )
  );
}

/**
 * The same for every edge model at once (the largest): where the model a decode is for is not known, and
 * for the limit checks, which it makes conservative: a decode for one model is never larger than this plan.
 */
export const EDGE_DECODE_MIN_SIDE = Math.max(
  ...MODEL_IDS.filter((model) => CATALOG[model].placement === 'edge').map(decodeMinSideFor),
);

/**
 * Limits for decoding at the edge: `maxPixels` (MAX_IMAGE_PIXELS) counts decoded pixels after JPEG
 * reduction, and every format must fit the per-image decode budget (PNG and WebP have pixel limits of
 * their own, since they cannot be decoded at reduced scale).
 */
export function edgeImageLimits(maxBytes: number, maxPixels: number | undefined): ImageLimits {
  return { ...imageLimits(maxBytes, maxPixels), decodeMinSide: EDGE_DECODE_MIN_SIDE };
}
