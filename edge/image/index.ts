export { type ImageType, sniffImageType } from '../../shared/image/sniff.ts';
export { decodeImage } from './decode.ts';
export { type DecodeLease, DecodeMemory } from './decode-memory.ts';
export { DECODE_BUDGET_BYTES, PNG_MAX_PIXELS, planDecode, WEBP_MAX_PIXELS } from './decode-plan.ts';
export { ImageError, type ImageErrorCode } from './errors.ts';
export { checkByteLength, checkDimensions, DEFAULT_LIMITS, type ImageLimits } from './limits.ts';
export { applyOrientation } from './orient.ts';
export { type ImageProbe, probeImage } from './probe.ts';
