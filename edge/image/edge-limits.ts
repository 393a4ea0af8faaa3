// Image limits for the two places an image can go: decoded here at the edge (reduced-scale JPEG, per-format
// decode budget), or forwarded to the origin, which decodes at full size.
import { CATALOG, preprocessFor, WEIGHT_SOURCES } from '../../shared/catalog/models.ts';
import { DEFAULT_LIMITS, type ImageLimits } from './limits.ts';

/** Limits for forwarding (the origin decodes at full size): stored pixels. */
export function imageLimits(maxBytes: number, maxPixels: number | undefined): ImageLimits {
  return { ...DEFAULT_LIMITS, maxBytes, maxPixels: maxPixels ?? DEFAULT_LIMITS.maxPixels };
}

/**
 * JPEGs are decoded at a DCT reduction that keeps their shorter side at least twice the largest resize
 * target of any edge model and weight source, so the exact resize after it still halves the image or more.
 */
export const EDGE_DECODE_MIN_SIDE =
  2 *
  Math.max(
    ...Object.values(CATALOG)
      .filter((entry) => entry.placement === 'edge')
      .flatMap((entry) =>
        WEIGHT_SOURCES.flatMap((source) => {
          try {
            return [preprocessFor(entry.variant, source).resizeShorterSide];
          } catch {
            return []; // no such weights for this variant
          }
        }),
      ),
  );

/**
 * Limits for decoding at the edge: `maxPixels` (MAX_IMAGE_PIXELS) counts decoded pixels after JPEG
 * reduction, and every format must fit the per-image decode budget (PNG and WebP have pixel limits of
 * their own, since they cannot be decoded at reduced scale).
 */
export function edgeImageLimits(maxBytes: number, maxPixels: number | undefined): ImageLimits {
  return { ...imageLimits(maxBytes, maxPixels), decodeMinSide: EDGE_DECODE_MIN_SIDE };
}
