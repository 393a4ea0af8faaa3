import { centreCropOffset, resizedSize, type Size } from './geometry.ts';
import { normalizationTables } from './normalize.ts';
import { resizeWindow, type Window } from './resample.ts';
import type { PreprocessSpec, RgbImage } from './spec.ts';

/** Where the centre crop lies: the resized size, the crop's offset in it, and the part of it inside. */
export interface CropPlan {
  resized: Size;
  /** Offsets of the crop in the resized image; negative where the crop is larger (zero padding). */
  left: number;
  top: number;
  /** The part of the resized image inside the crop: what resizeWindow computes. */
  window: Window;
}

export function cropPlan(image: RgbImage, spec: PreprocessSpec): CropPlan {
  const crop = spec.cropSize;
  const resized = resizedSize(image.width, image.height, spec.resizeShorterSide);
  const left = centreCropOffset(resized.width, crop);
  const top = centreCropOffset(resized.height, crop);
  // Where the crop extends past the resized image (crop larger than it) torchvision pads with zeros.
  const x0 = Math.max(left, 0);
  const y0 = Math.max(top, 0);
  const x1 = Math.min(left + crop, resized.width);
  const y1 = Math.min(top + crop, resized.height);
  return { resized, left, top, window: { left: x0, top: y0, width: x1 - x0, height: y1 - y0 } };
}

/**
 * Resize (shorter side), centre-crop and normalise, returning a planar [3, cropSize, cropSize] tensor
 * (no batch axis). Pixels equal what torchvision's eval transforms produce from a PIL image.
 */
export function preprocess(image: RgbImage, spec: PreprocessSpec): Float32Array {
  validatePreprocessInput(image, spec);
  const crop = spec.cropSize;
  const { resized, left, top, window } = cropPlan(image, spec);
  const x0 = window.left;
  const y0 = window.top;
  const pixels = resizeWindow(image, resized.width, resized.height, window, spec.interpolation);

  const tables = normalizationTables(spec.mean, spec.std);
  const plane = crop * crop;
  const out = new Float32Array(3 * plane);
  const padded = window.width < crop || window.height < crop;
  if (padded) {
    for (let c = 0; c < 3; c++)
      out.fill((tables[c] as Float32Array)[0] as number, c * plane, (c + 1) * plane);
  }
  const [r, g, b] = tables;
  for (let y = 0; y < window.height; y++) {
    let o = (y + y0 - top) * crop + (x0 - left);
    let s = y * window.width * 3;
    for (let x = 0; x < window.width; x++, o++, s += 3) {
      out[o] = r[pixels[s] as number] as number;
      out[o + plane] = g[pixels[s + 1] as number] as number;
      out[o + 2 * plane] = b[pixels[s + 2] as number] as number;
    }
  }
  return out;
}

export function validatePreprocessInput(image: RgbImage, spec: PreprocessSpec): void {
  const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
  if (!positiveInt(image.width) || !positiveInt(image.height)) {
    throw new RangeError(`image size must be positive integers, got ${image.width}x${image.height}`);
  }
  if (image.data.length < image.width * image.height * image.channels) {
    throw new RangeError('image data is shorter than width * height * channels');
  }
  if (!positiveInt(spec.cropSize) || !positiveInt(spec.resizeShorterSide)) {
    throw new RangeError('cropSize and resizeShorterSide must be positive integers');
  }
  if (spec.std.some((s) => s === 0)) throw new RangeError('std must be non-zero');
}
