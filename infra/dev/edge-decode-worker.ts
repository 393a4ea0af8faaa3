import { decodeImage } from '../../edge/image/decode.ts';
import { ImageError } from '../../edge/image/errors.ts';
import { codecHeapBuffer, jpegInstancesCreated } from '../../edge/image/jpeg-turbo.ts';
import { checkDimensions, DEFAULT_LIMITS } from '../../edge/image/limits.ts';
import { pngInstancesCreated } from '../../edge/image/png-codec.ts';
import { probeImage } from '../../edge/image/probe.ts';
import { edgePreprocess } from '../../edge/preprocess/index.ts';
import { type PreprocessSpec, preprocess } from '../../shared/preprocess/index.ts';

// The edge decoder alone, for the decode tests and bench:phone: exposes the edge decoder and the shared preprocessing.
//   POST /decode            → packed RGB bytes, size in x-width / x-height
//   POST /preprocess?spec=  → float32 [3, crop, crop] bytes
//   &impl=edge              → from the edge's WebAssembly preprocessing instead of shared/preprocess
//   ?minSide=N              → edge limits and JPEG reduction as in production (shorter side >= N)
//   ?heap=1                 → the upload is placed in a decoder heap (codecHeapBuffer), as the classify
//                             route reads a raw JPEG; x-upload-intact says whether it was unchanged after
//                             the decode (length and checksum)
//   GET /instances          → how many codec instances were created (each failure replaces one)
// Image errors answer { code, message } with status 400 / 413 / 415.

const STATUS = { invalid_image: 400, image_too_large: 413, unsupported_media_type: 415 } as const;

function packedRgb(image: { channels: number; data: Uint8Array }): Uint8Array {
  if (image.channels === 3) return image.data;
  const out = new Uint8Array((image.data.length / 4) * 3);
  for (let s = 0, o = 0; s < image.data.length; s += 4) {
    out[o++] = image.data[s] as number;
    out[o++] = image.data[s + 1] as number;
    out[o++] = image.data[s + 2] as number;
  }
  return out;
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum = (sum * 31 + (bytes[i] as number)) | 0;
  return sum;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/instances')
      return Response.json({ jpeg: jpegInstancesCreated(), png: pngInstancesCreated() });
    const minSide = url.searchParams.has('minSide') ? Number(url.searchParams.get('minSide')) : undefined;
    try {
      const received = new Uint8Array(await request.arrayBuffer());
      const inHeap = url.searchParams.get('heap') === '1';
      const bytes = inHeap ? codecHeapBuffer(received.length) : received;
      if (inHeap) bytes.set(received);
      const sumBefore = checksum(bytes);
      const probe = probeImage(bytes);
      checkDimensions(
        probe,
        minSide ? { ...DEFAULT_LIMITS, maxPixels: 4_000_000, decodeMinSide: minSide } : DEFAULT_LIMITS,
      );
      const image = await decodeImage(bytes, probe, minSide);
      if (url.pathname === '/preprocess') {
        const spec = JSON.parse(url.searchParams.get('spec') ?? '') as PreprocessSpec;
        const run = url.searchParams.get('impl') === 'edge' ? edgePreprocess : preprocess;
        return new Response(run(image, spec).buffer as ArrayBuffer);
      }
      return new Response(packedRgb(image) as Uint8Array<ArrayBuffer>, {
        headers: {
          'x-width': String(image.width),
          'x-height': String(image.height),
          'x-upload-intact': String(
            Number(bytes.length === received.length && checksum(bytes) === sumBefore),
          ),
        },
      });
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
      return Response.json({ code: error.code, message: error.message }, { status: STATUS[error.code] });
    }
  },
};
