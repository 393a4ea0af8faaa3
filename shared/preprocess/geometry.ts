// Output sizes and crop offsets, following torchvision 0.14+ exactly (including Python's rounding).

export interface Size {
  width: number;
  height: number;
}

/** torchvision Resize(int): the shorter side becomes `shorter`, the long side floor(shorter * long / short). */
export function resizedSize(width: number, height: number, shorter: number): Size {
  if (width <= height) {
    return { width: shorter, height: Math.floor((shorter * height) / width) };
  }
  return { width: Math.floor((shorter * width) / height), height: shorter };
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Offset of a centred crop of `crop` pixels along an axis of `size` pixels. Negative when the crop is larger:
 * torchvision then pads with zeros, left/top by floor((crop - size) / 2).
 */
export function centreCropOffset(size: number, crop: number): number {
  if (crop > size) return -Math.floor((crop - size) / 2);
  return roundHalfEven((size - crop) / 2);
}
