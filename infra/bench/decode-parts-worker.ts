/// <reference path="../../edge/image/wasm-modules.d.ts" />
import { decodeMemory } from '../../edge/classify/image-tensor.ts';
import { decodeImage } from '../../edge/image/decode.ts';
import { decodeMinSideFor } from '../../edge/image/edge-limits.ts';
import { assertJpegComplete } from '../../edge/image/jpeg-complete.ts';
import { codecHeapBuffer, createTurbo, type TurboExports } from '../../edge/image/jpeg-turbo.ts';
import { probeImage } from '../../edge/image/probe.ts';

// Bench worker for infra/bench/decode-parts.ts: times the parts of the edge's JPEG decode of a B0 request
// inside workerd. Local workerd's performance.now() advances while JavaScript runs but reads whole
// milliseconds, so each part is timed over `n` repetitions and divided.
//   POST /?n=20    → { parts: { name: ms per repetition } }
//   POST /seq?n=20 → ms of each of n successive decodes in this isolate (&gap=MS waits between them)

type Turbo = TurboExports;

const fail = () => {
  throw new Error('libjpeg failed');
};
const freshTurbo = createTurbo;

const MIN_SIDE = decodeMinSideFor('efficientnet-b0');

function inUploadHeap(body: Uint8Array): Uint8Array {
  const bytes = codecHeapBuffer(body.length);
  bytes.set(body);
  return bytes;
}

/** libjpeg's own RGB decode, tjDecompress2 alone (plus init/destroy) to `width` x `height`, the input copied in at the start. */
function bareDecode(tj: Turbo, body: Uint8Array, width: number, height: number): void {
  const src = tj.malloc(body.length);
  new Uint8Array(tj.memory.buffer, src, body.length).set(body);
  const handle = tj.tjInitDecompress();
  const dst = tj.malloc(width * height * 3);
  if (tj.tjDecompress2(handle, src, body.length, dst, width, width * 3, height, 0, 0) !== 0) fail();
  tj.tjDestroy(handle);
  tj.free(dst);
  tj.free(src);
}

async function parts(body: Uint8Array, n: number): Promise<Record<string, number>> {
  const ms: Record<string, number> = {};
  const time = async (name: string, part: (i: number) => unknown) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) await part(i);
    ms[name] = (performance.now() - started) / n;
  };
  const probe = probeImage(body);
  const plan = { width: Math.ceil((probe.width * 5) / 8), height: Math.ceil((probe.height * 5) / 8) };
  await time('probe', () => probeImage(body));
  await time('upload_into_codec_heap', () => inUploadHeap(body));
  await time('assert_jpeg_complete', () => assertJpegComplete(body));
  await time('decode_memory_lease', async () =>
    (await decodeMemory.acquire(plan.width * plan.height * 9)).release(),
  );
  const uploads = Array.from({ length: n }, () => inUploadHeap(body));
  await time('decode_image_from_upload_heap', (i) => decodeImage(uploads[i] as Uint8Array, probe, MIN_SIDE));
  await time('decode_image_copied_into_shared', () => decodeImage(body, probe, MIN_SIDE));
  const shared = freshTurbo();
  await time('bare_tj_decompress_reused_instance', () => bareDecode(shared, body, plan.width, plan.height));
  const fresh = Array.from({ length: n }, freshTurbo);
  await time('bare_tj_decompress_fresh_instance', (i) =>
    bareDecode(fresh[i] as Turbo, body, plan.width, plan.height),
  );
  await time('instantiate', freshTurbo);
  const output = new Uint8Array(shared.memory.buffer, 0, plan.width * plan.height * 3);
  await time('copy_of_output', () => output.slice());
  return ms;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? '20');
    const body = new Uint8Array(await request.arrayBuffer());
    if (url.pathname !== '/seq') return Response.json({ parts: await parts(body, n) });
    const gapMs = Number(url.searchParams.get('gap') ?? '0');
    const probe = probeImage(body);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const bytes = inUploadHeap(body);
      const started = performance.now();
      await decodeImage(bytes, probe, MIN_SIDE);
      times.push(performance.now() - started);
      if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    return Response.json({ decode_ms: times });
  },
};
