export { centreCropOffset, resizedSize, roundHalfEven, type Size } from './geometry.ts';
export { type AxisKernel, axisKernel, sourceRows } from './kernels.ts';
export { normalizationTables } from './normalize.ts';
export { type CropPlan, cropPlan, preprocess, validatePreprocessInput } from './preprocess.ts';
export { resizeWindow, type Window } from './resample.ts';
export type { Interpolation, PreprocessSpec, RgbImage } from './spec.ts';
