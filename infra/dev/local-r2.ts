// Fills wrangler's local R2 (and optionally KV) storage so a locally started Worker finds its models.
// wrangler keeps local state under <persist>/v3/<kind>/...; Miniflare's API writes the same layout, in about
// a second, instead of one `wrangler r2 object put --local` process per object.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { PROFILE_KEYS, type ProfileRuntime } from '../../shared/catalog/profile.ts';

/** Must match bucket_name in wrangler.toml: local R2 is keyed by it. */
export const MODELS_BUCKET = 'edge-classifier-models';
export const API_KEYS_KV_ID = 'api-keys-local';

/** A model folder as the factory writes it: model.json, model.onnx and, when split, model.onnx.data. */
export interface ModelFolder {
  /** The R2 key prefix: the model id. */
  id: string;
  dir: string;
}

/** A measured profile (profiles/<runtime>.json) to deploy next to the models, at PROFILE_KEYS[runtime]. */
export interface ProfileFile {
  runtime: ProfileRuntime;
  file: string;
}

export async function fillLocalStorage(
  persistRoot: string,
  contents: {
    models?: readonly ModelFolder[];
    /** Models of which only model.json goes up (the origin's: the edge keys cached answers on its checksums). */
    manifests?: readonly ModelFolder[];
    profiles?: readonly ProfileFile[];
    kvKeys?: readonly string[];
  },
): Promise<void> {
  if (
    !contents.models?.length &&
    !contents.manifests?.length &&
    !contents.profiles?.length &&
    !contents.kvKeys
  )
    return;
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null, { status: 404 }); } }',
    defaultPersistRoot: path.join(persistRoot, 'v3'),
    r2Buckets: { MODELS: MODELS_BUCKET },
    kvNamespaces: { KEYS: API_KEYS_KV_ID },
  });
  try {
    const bucket = await mf.getR2Bucket('MODELS');
    for (const model of contents.models ?? []) {
      const manifest = JSON.parse(await readFile(path.join(model.dir, 'model.json'), 'utf8')) as {
        files?: { name: string }[];
      };
      const names = new Set(['model.json', ...(manifest.files ?? []).map((file) => file.name)]);
      for (const name of names) {
        await bucket.put(`${model.id}/${name}`, new Uint8Array(await readFile(path.join(model.dir, name))));
      }
    }
    for (const model of contents.manifests ?? []) {
      await bucket.put(
        `${model.id}/model.json`,
        new Uint8Array(await readFile(path.join(model.dir, 'model.json'))),
      );
    }
    for (const profile of contents.profiles ?? []) {
      await bucket.put(PROFILE_KEYS[profile.runtime], new Uint8Array(await readFile(profile.file)));
    }
    const kv = await mf.getKVNamespace('KEYS');
    for (const key of contents.kvKeys ?? []) await kv.put(key, 'local');
  } finally {
    await mf.dispose();
  }
}
