// Case i of a run seeded S: which base, which mutation, which body form, and the bytes. Everything comes
// from caseSeed(S, i), so any case can be rebuilt alone.
import type { Base } from './bases.ts';
import { MUTATION_NAMES, MUTATIONS, type MutationName } from './mutations.ts';
import { caseSeed, rng } from './prng.ts';

/** Raw body most of the time; the two other accepted body forms reach the same decoder. */
export type BodyForm = 'raw' | 'multipart' | 'json';
const FORMS: readonly BodyForm[] = [
  'raw',
  'raw',
  'raw',
  'raw',
  'raw',
  'raw',
  'raw',
  'raw',
  'multipart',
  'json',
];

export interface FuzzCase {
  index: number;
  seed: number;
  base: string;
  mutation: MutationName;
  form: BodyForm;
  detail: string;
  bytes: Uint8Array;
  contentType: string | undefined;
}

export function makeCase(bases: readonly Base[], runSeed: number, index: number): FuzzCase {
  const seed = caseSeed(runSeed, index);
  const r = rng(seed);
  const base = r.pick(bases);
  const mutation = r.pick(MUTATION_NAMES);
  const form = r.pick(FORMS);
  const mutant = MUTATIONS[mutation](base, r);
  return { index, seed, base: base.name, mutation, form, ...mutant };
}

/** The HTTP request for a case: tier=fast (the edge alone), the API key as a bearer token. */
export function requestFor(c: Pick<FuzzCase, 'bytes' | 'contentType' | 'form'>, apiKey: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  // A copy backed by a plain ArrayBuffer, as fetch's and Blob's typings require.
  const bytes = Uint8Array.from(c.bytes);
  if (c.form === 'json') {
    headers['content-type'] = 'application/json';
    const image = Buffer.from(c.bytes).toString('base64');
    return {
      path: '/v1/classify',
      init: { method: 'POST', headers, body: JSON.stringify({ image, tier: 'fast' }) },
    };
  }
  if (c.form === 'multipart') {
    const form = new FormData();
    form.set('image', new Blob([bytes], c.contentType ? { type: c.contentType } : {}), 'upload');
    return { path: '/v1/classify?tier=fast', init: { method: 'POST', headers, body: form } };
  }
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  return { path: '/v1/classify?tier=fast', init: { method: 'POST', headers, body: bytes } };
}
