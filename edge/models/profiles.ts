// The deployed profiles (profiles/<runtime>.json in R2), read once per isolate and re-read after a
// minute, so latency_budget_ms does not cost two R2 reads per request and a re-uploaded profile is
// still picked up. GET /v1/models reads through the same cache.
import { CATALOG, type CatalogEntry, type ModelId } from '../../shared/catalog/models.ts';
import {
  type MeasuredProfile,
  measuredRow,
  PROFILE_KEYS,
  type ProfileRuntime,
  ProfileSchema,
} from '../../shared/catalog/profile.ts';

export const PROFILE_CACHE_MS = 60_000;

export interface Profiles {
  edge: MeasuredProfile | null;
  origin: MeasuredProfile | null;
}

const cache = new WeakMap<object, { at: number; profiles: Promise<Profiles> }>();

/** Both profiles; a missing or malformed one is null (logged), never an error for the caller. */
export function measuredProfiles(env: Env): Promise<Profiles> {
  const hit = cache.get(env);
  if (hit && Date.now() - hit.at < PROFILE_CACHE_MS) return hit.profiles;
  const profiles = Promise.all([profileOf(env, 'edge'), profileOf(env, 'origin')]).then(([edge, origin]) => ({
    edge,
    origin,
  }));
  cache.set(env, { at: Date.now(), profiles });
  return profiles;
}

/** What is read of the model bucket here (an R2Bucket in the Worker; absent in in-process tests). */
interface ProfileBucket {
  get(key: string): Promise<{ json(): Promise<unknown> } | null>;
}

/**
 * A runtime's measured profile as deployed next to the models (profiles/<runtime>.json), or null when none
 * was uploaded. A malformed one is an error: the caller decides whether it can do without.
 */
async function readProfile(
  bucket: ProfileBucket | undefined,
  runtime: ProfileRuntime,
): Promise<MeasuredProfile | null> {
  const key = PROFILE_KEYS[runtime];
  const object = await bucket?.get(key);
  if (!object) return null;
  const parsed = ProfileSchema.safeParse(await object.json().catch(() => undefined));
  if (!parsed.success) throw new Error(`${key} is not a valid profile`);
  if (parsed.data.runtime !== runtime) throw new Error(`${key} profiles the ${parsed.data.runtime}`);
  return parsed.data;
}

async function profileOf(env: Env, runtime: ProfileRuntime): Promise<MeasuredProfile | null> {
  try {
    return await readProfile(env.MODELS as ProfileBucket | undefined, runtime);
  } catch (error) {
    console.warn(`profiles: ${(error as Error).message}; latencies of the ${runtime} left out`);
    return null;
  }
}

/** The profile row measured for this catalog model at its served resolution, if any. */
export function rowFor(profile: MeasuredProfile | null, entry: CatalogEntry) {
  if (!profile) return undefined;
  const row = measuredRow(profile, entry.variant, profile.provider);
  return row && row.resolution === entry.resolution ? row : undefined;
}

/** The measured p95 of each model in `ids` on the runtime that serves it; unmeasured ones are left out. */
export function measuredP95(
  profile: MeasuredProfile | null,
  ids: readonly ModelId[],
): { model: ModelId; p95Ms: number }[] {
  return ids.flatMap((model) => {
    const row = rowFor(profile, CATALOG[model]);
    return row ? [{ model, p95Ms: row.p95_ms }] : [];
  });
}
