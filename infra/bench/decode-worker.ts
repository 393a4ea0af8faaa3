import { decode as decodeFastPng } from 'fast-png';
import { Hono } from 'hono';
import jpegJs from 'jpeg-js';
import { decodeChecked, imageTensor } from '../../edge/classify/image-tensor.ts';
import { type BodyVariables, bodyLimit } from '../../edge/http/body-limit.ts';
import { decodeJpeg, decodePng, decodeWebp } from '../../edge/image/codecs.ts';
import { decodeImage } from '../../edge/image/decode.ts';
import { decodeMinSideFor, edgeImageLimits } from '../../edge/image/edge-limits.ts';
import { codecHeapBuffer } from '../../edge/image/jpeg-turbo.ts';
import { probeImage } from '../../edge/image/probe.ts';
import { joinChunks } from '../../shared/http/chunks.ts';

// Benchmark worker: decodes the request body `n` times with the named candidate and answers with a
// checksum, so the caller can time whole requests from outside, the way that also works on a deployed
// Worker, whose clocks stand still while JavaScript runs (local workerd's do advance).

type Candidate = (bytes: Uint8Array) => Promise<{ width: number; height: number; data: ArrayLike<number> }>;

/** What a B0 request's JPEG keeps of its shorter side (twice B0's resize target, 256). */
const B0_MIN_SIDE = decodeMinSideFor('efficientnet-b0');

const CANDIDATES: Record<string, Candidate> = {
  noop: async (bytes) => ({ width: 0, height: 0, data: bytes.subarray(0, 1) }),
  // Full-size decodes, as the codecs were compared.
  'wasm-jpeg': async (bytes) => {
    const size = probeImage(bytes);
    return decodeJpeg(bytes, size, { scaleEighths: 8 }, (p) => ({ ...p, data: p.data.slice() }));
  },
  // The same at each DCT scaling factor M/8 (`wasm-jpeg-5of8`), to see which factors pay (--factors).
  ...Object.fromEntries(
    [1, 2, 3, 4, 5, 6, 7, 8].map((eighths): [string, Candidate] => [
      `wasm-jpeg-${eighths}of8`,
      async (bytes) =>
        decodeJpeg(bytes, probeImage(bytes), { scaleEighths: eighths }, (p) => ({
          ...p,
          data: p.data.slice(),
        })),
    ]),
  ),
  'wasm-png': async (bytes) => decodePng(bytes, probeImage(bytes)),
  'wasm-webp': (bytes) => decodeWebp(bytes),
  'jpeg-js': async (bytes) =>
    jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 }),
  'fast-png': async (bytes) => {
    const png = decodeFastPng(bytes);
    return { width: png.width, height: png.height, data: png.data };
  },
  // The production decode for B0 alone (no memory budget, no preprocessing): pipeline minus this is
  // preprocessing.
  'edge-decode': async (bytes) => decodeImage(bytes, probeImage(bytes), B0_MIN_SIDE),
  // The production path of a B0 request: probe, edge limits, reduced-scale decode for B0 inside the
  // isolate's decode budget, orient, then B0's preprocessing (resize 256, crop 224, bicubic).
  pipeline: async (bytes) => {
    const image = await decodeChecked(bytes, edgeImageLimits(10 * 1024 * 1024, 4_000_000), B0_MIN_SIDE);
    const { tensor } = imageTensor(image, {
      cropSize: 224,
      resizeShorterSide: 256,
      interpolation: 'bicubic',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    return { width: image.width, height: image.height, data: new Uint8Array(tensor.buffer, 0, 16) };
  },
};

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * How the body is read (`?read=`): `arraybuffer`, request.arrayBuffer() (the default); `limit`, the edge's
 * body-limit middleware as the classify route uses it for a raw JPEG (read straight into the decoder's
 * heap); `limit-js`, the same middleware reading into a JavaScript buffer, as it did before; `chunks`, what
 * that middleware did before that (chunks joined, request rebuilt around the bytes for re-parsing).
 */
const limited = new Hono<{ Variables: BodyVariables }>()
  .use(
    bodyLimit({
      maxBytes: () => MAX_BODY_BYTES,
      reparsed: () => false,
      allocate: (c, length) =>
        new URL(c.req.url).searchParams.get('read') === 'limit' ? codecHeapBuffer(length) : undefined,
    }),
  )
  .post('*', (c) => run(c.req.raw, c.var.body));

async function readChunks(request: Request): Promise<{ bytes: Uint8Array; rebuilt: Request }> {
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    chunks.push(next.value);
    total += next.value.byteLength;
  }
  const bytes = joinChunks(chunks, total);
  return { bytes, rebuilt: new Request(request, { body: bytes }) };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const read = new URL(request.url).searchParams.get('read') ?? 'arraybuffer';
    if (read === 'limit' || read === 'limit-js') return limited.fetch(request);
    if (read === 'chunks') {
      const { bytes, rebuilt } = await readChunks(request);
      const response = await run(request, bytes);
      // The rebuilt request stayed reachable through the handler, as it did in the route.
      return rebuilt.bodyUsed ? new Response('unexpected', { status: 500 }) : response;
    }
    return run(request, new Uint8Array(await request.arrayBuffer()));
  },
};

async function run(request: Request, bytes: Uint8Array): Promise<Response> {
  {
    const url = new URL(request.url);
    const candidate = CANDIDATES[url.searchParams.get('codec') ?? ''];
    if (!candidate) return new Response('unknown codec', { status: 400 });
    const repeat = Number(url.searchParams.get('n') ?? '1');
    let checksum = 0;
    let size = '';
    for (let i = 0; i < repeat; i++) {
      const out = await candidate(bytes);
      size = `${out.width}x${out.height}`;
      checksum = (checksum + (out.data[(out.data.length >> 1) + 1] ?? 0)) | 0;
    }
    return Response.json({ size, checksum });
  }
}
