export { canonicalString, normalizeAudience, SIGNATURE_HEADERS, SIGNATURE_VERSION } from './canonical.ts';
export { ReplayCache, type ReplayCheck } from './replay-cache.ts';
export { type SignatureHeaders, type SigningKey, type SignRequestInput, signRequest } from './sign.ts';
export {
  createVerifier,
  type RequestHead,
  type RequestToVerify,
  type Verifier,
  type VerifierOptions,
  type VerifyFailure,
  type VerifyResult,
} from './verify.ts';
