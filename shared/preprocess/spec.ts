/** How a model's weights expect their input: torchvision's Resize(int) → CenterCrop → ToTensor → Normalize. */
export interface PreprocessSpec {
  /** Square side fed to the model. */
  cropSize: number;
  /** The shorter side is resized to this first; the long side becomes floor(resizeShorterSide * long / short). */
  resizeShorterSide: number;
  interpolation: 'bilinear' | 'bicubic';
  /** Per-channel mean and standard deviation on 0..1 RGB values. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** Decoded 8-bit pixels, row-major and interleaved. A fourth (alpha) channel is ignored, as PIL's convert('RGB') does. */
export interface RgbImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

export type Interpolation = PreprocessSpec['interpolation'];
