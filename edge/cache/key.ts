// The result cache's key: everything that decides a classify answer, hashed into one URL for the
// Workers Cache API. Two requests with equal keys get the same predictions, model and tier.

import type { ModelId } from '../../shared/catalog/models.ts';
import type { Plan } from '../../shared/policy/escalation.ts';
import { sha256Hex } from '../../shared/signing/canonical.ts';

/**
 * Bump when decoding or preprocessing (shared/preprocess, edge/image, the origin's decode) changes the
 * tensor a given file becomes: answers cached before the change then miss instead of being served.
 */
// 2: JPEGs decoded at M/8 DCT scales with a minimum side per model (1 MP photos no longer at full size).
// 3: 4:2:0 JPEGs decoded at 5/8 to full size get their chroma by triangle upsampling (jpeg-codec/ycc-rgb.c).
export const PREPROCESS_VERSION = 3;

/** Only a Request URL keys the Cache API; this host is never resolved (RFC 2606 reserves .invalid). */
const KEY_ORIGIN = 'https://result-cache.invalid/v1/';

export interface ResultKeyParts {
  /** SHA-256 (hex) of the image file's bytes as sent. */
  imageSha256: string;
  /** The plan the handler follows: which models may answer, for which tier, with which threshold. */
  plan: Plan;
  topK: number;
  /** Weights checksum of each model the plan names; a missing one keys as "none". */
  checksums: Readonly<Partial<Record<ModelId, string>>>;
  /** Defaults to PREPROCESS_VERSION. */
  preprocessVersion?: number;
}

/** The models whose weights can decide an answer under this plan (the degraded fallback never is stored). */
export function planModels(plan: Plan): ModelId[] {
  if (plan.kind === 'edge') return [plan.edgeModel];
  if (plan.kind === 'origin') return [plan.originModel];
  return [plan.edgeModel, plan.originModel];
}

/**
 * The cache key URL. The plan stands for the request's tier, model, min_confidence and image size class
 * (tier auto sends images over the edge's limits straight to the origin); allow_degraded is left out
 * because degraded answers are never stored, so it cannot change a stored answer.
 */
export async function resultCacheKey(parts: ResultKeyParts): Promise<string> {
  const { plan } = parts;
  const model = (id: ModelId | undefined) => (id === undefined ? null : [id, parts.checksums[id] ?? 'none']);
  const canonical = JSON.stringify([
    parts.preprocessVersion ?? PREPROCESS_VERSION,
    parts.imageSha256,
    plan.kind,
    plan.tier,
    model(plan.kind === 'origin' ? undefined : plan.edgeModel),
    model(plan.kind === 'edge' ? undefined : plan.originModel),
    plan.kind === 'edge-then-origin' ? plan.minConfidence : null,
    parts.topK,
  ]);
  return KEY_ORIGIN + (await sha256Hex(new TextEncoder().encode(canonical)));
}

export function imageSha256(bytes: Uint8Array): Promise<string> {
  return sha256Hex(bytes);
}
