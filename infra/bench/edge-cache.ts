// Result cache rows of bench:edge: the same model in one Worker with the cache on, as a true miss (a
// JPEG never sent before: lookup, decode, model, store after the response), a hit (those bytes again)
// and a bypass (cache=false: no lookup, no store), interleaved so all three see the same load.
import type { ModelId } from '../../shared/catalog/models.ts';
import { bootWorker, type ModelFiles } from '../dev/workerd.ts';
import { median, round, spread } from './edge-measure.ts';

interface Answer {
  elapsed: number;
  status: string;
  serverTotal: number;
}

/**
 * The JPEG with a comment segment (COM) right after SOI: new bytes, so a new cache key, and the same
 * pixels, so the same model work.
 */
export function withComment(jpeg: Uint8Array, text: string): Uint8Array<ArrayBuffer> {
  const comment = new TextEncoder().encode(text);
  const length = comment.length + 2;
  const out = new Uint8Array(jpeg.length + 2 + length);
  out.set(jpeg.subarray(0, 2));
  out.set([0xff, 0xfe, length >> 8, length & 0xff], 2);
  out.set(comment, 6);
  out.set(jpeg.subarray(2), 6 + comment.length);
  return out;
}

export async function measureCache(options: {
  model: ModelId;
  files: ModelFiles;
  jpeg: Uint8Array<ArrayBuffer>;
  prebuilt: string;
  runs: number;
  warmup: number;
  log: (message: string) => void;
}) {
  const { model, jpeg } = options;
  options.log(`measuring the result cache on ${model}`);
  const worker = await bootWorker({
    models: [options.files],
    vars: { ALLOW_OPEN_API: '1', RESULT_CACHE_TTL_S: '3600' },
    prebuilt: options.prebuilt,
    logLevel: 'none',
  });
  const post = async (bytes: Uint8Array<ArrayBuffer>, query = ''): Promise<Answer> => {
    const started = performance.now();
    const response = await worker.fetch(`/v1/classify?model=${model}${query}`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: bytes,
    });
    const body = (await response.json()) as { timings_ms?: { total: number } };
    const elapsed = performance.now() - started;
    if (response.status !== 200 || !body.timings_ms)
      throw new Error(`classify answered ${response.status}: ${JSON.stringify(body)}`);
    return {
      elapsed,
      status: response.headers.get('cache-status') ?? '',
      serverTotal: body.timings_ms.total,
    };
  };
  try {
    const miss: Answer[] = [];
    const hit: Answer[] = [];
    const bypass: Answer[] = [];
    for (let i = 0; i < options.warmup + options.runs; i++) {
      const bytes = withComment(jpeg, `bench ${Date.now()} ${i}`);
      const first = await post(bytes);
      if (!first.status.includes('fwd=uri-miss; stored'))
        throw new Error(`expected a stored miss: ${first.status}`);
      // The store runs after the response (waitUntil): the first repeat is normally already a hit.
      let again = await post(bytes);
      for (let tries = 0; !again.status.includes('; hit') && tries < 10; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        again = await post(bytes);
      }
      if (!again.status.includes('; hit')) throw new Error(`expected a hit: ${again.status}`);
      const skipped = await post(bytes, '&cache=false');
      if (i < options.warmup) continue;
      miss.push(first);
      hit.push(again);
      bypass.push(skipped);
    }
    const ms = (xs: Answer[]) => median(xs.map((a) => a.elapsed));
    const server = (xs: Answer[]) => median(xs.map((a) => a.serverTotal));
    return {
      model,
      miss_ms: round(ms(miss)),
      hit_ms: round(ms(hit)),
      bypass_ms: round(ms(bypass)),
      hit_over_miss: round(ms(hit) / ms(miss), 3),
      miss_over_hit: round(ms(miss) / ms(hit), 1),
      miss_server_total_ms: round(server(miss)),
      hit_server_total_ms: round(server(hit), 2),
      bypass_server_total_ms: round(server(bypass)),
      miss_spread: round(spread(miss.map((a) => a.elapsed)), 2),
      hit_spread: round(spread(hit.map((a) => a.elapsed)), 2),
      note: 'client-seen medians over the same requests, interleaved; miss = new bytes (lookup + model + store), hit = those bytes again, bypass = cache=false',
    };
  } finally {
    await worker.dispose();
  }
}
