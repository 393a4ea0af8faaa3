// A model's weights checksum: one digest over the SHA-256 of every file model.json lists (graph and
// external weights), so a rebuilt or re-trained model keys apart from the old one.
import type { ModelManifest } from '../../shared/catalog/manifest.ts';
import type { ModelId } from '../../shared/catalog/models.ts';
import { sha256Hex } from '../../shared/signing/canonical.ts';
import { readManifest } from '../models/store.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

// A loaded model keeps its manifest object for the isolate's life: its digest is taken once, not per request.
const ofManifest = new WeakMap<ModelManifest, Promise<string | undefined>>();

/** undefined when the manifest lists no files or a file without its SHA-256: such answers are not cached. */
export function weightsChecksum(manifest: ModelManifest): Promise<string | undefined> {
  let checksum = ofManifest.get(manifest);
  if (!checksum) {
    checksum = digestOfFiles(manifest);
    ofManifest.set(manifest, checksum);
  }
  return checksum;
}

async function digestOfFiles(manifest: ModelManifest): Promise<string | undefined> {
  const files = manifest.files ?? [];
  if (files.length === 0 || files.some((file) => !SHA256_HEX.test(file.sha256 ?? ''))) return undefined;
  const listing = files
    .map((file) => `${file.name}:${file.sha256}`)
    .sort()
    .join('\n');
  return sha256Hex(new TextEncoder().encode(listing));
}

/** How long an isolate trusts a checksum it read from the bucket before reading model.json again. */
export const CHECKSUM_REFRESH_MS = 60_000;

const fromBucket = new Map<ModelId, { checksum: Promise<string | undefined>; readAt: number }>();

/**
 * The checksum of `<model>/model.json` in the model bucket, read at most once a minute per isolate.
 * An unreadable or absent manifest is undefined (not cached), never an error: the cache must not fail
 * a request the models can answer.
 */
export function bucketWeightsChecksum(env: Env, model: ModelId): Promise<string | undefined> {
  const now = Date.now();
  const known = fromBucket.get(model);
  if (known && now - known.readAt < CHECKSUM_REFRESH_MS) return known.checksum;
  const checksum = readManifest(env.MODELS, model)
    .then((manifest) => (manifest ? weightsChecksum(manifest) : undefined))
    .catch(() => undefined);
  fromBucket.set(model, { checksum, readAt: now });
  return checksum;
}
