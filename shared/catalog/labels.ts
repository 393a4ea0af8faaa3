import { IMAGENET_CLASSES } from './imagenet-classes.ts';

/** Human-readable name of an ImageNet-1k class: the first WordNet synonym. */
export function imagenetLabel(index: number): string {
  const entry = IMAGENET_CLASSES[index];
  if (!entry) throw new RangeError(`ImageNet class index out of range: ${index}`);
  const first = entry[1].split(',')[0];
  return (first ?? entry[1]).trim();
}

/**
 * Index of ImageNet class 0 in a classifier's output: 1001 outputs mean a leading background class
 * (TF-trained checkpoints), 1000 mean none.
 */
export function labelOffsetFor(classes: number): number {
  return classes === IMAGENET_CLASSES.length + 1 ? 1 : 0;
}
