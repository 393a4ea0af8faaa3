export { type ImageType, sniffImageType } from '../../shared/image/sniff.ts';
export { decodeImage } from './decode.ts';
export { ImageError, type ImageErrorCode } from './errors.ts';
export { checkByteLength, checkDimensions, DEFAULT_LIMITS, type ImageLimits } from './limits.ts';
export { applyOrientation } from './orient.ts';
export { type ImageProbe, probeImage } from './probe.ts';
