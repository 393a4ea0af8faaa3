import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDecodeWorker } from '../../infra/dev/workerd.ts';
import { type PreprocessSpec, preprocess } from '../../shared/preprocess/index.ts';

// The edge decoder (WASM codecs imported as modules) running in real workerd, compared with sharp (libvips)
// decoding the same bytes in Node.
//  - PNG and lossless WebP must be identical.
//  - Lossy formats: both sides use libjpeg-turbo / libwebp, but other builds may pick other IDCT or
//    upsampling code: at most JPEG_TOLERANCE levels per channel, mean difference below 0.5 level.
//  - decode + shared preprocess in workerd vs sharp decode + the same preprocess in Node: max |diff| of
//    normalised values <= TENSOR_TOLERANCE (about 1 level / 255 / std).
// Measured with sharp 0.35 and @jsquash 1.6/3.1/1.5: every difference was 0.
const JPEG_TOLERANCE = 2;
const TENSOR_TOLERANCE = 0.02;

const FIXTURE = join(import.meta.dirname, '../fixtures/preprocess/landscape.png');
const SPEC: PreprocessSpec = {
  cropSize: 64,
  resizeShorterSide: 72,
  interpolation: 'bicubic',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

let worker: Awaited<ReturnType<typeof startDecodeWorker>>;

beforeAll(async () => {
  worker = await startDecodeWorker();
});

afterAll(async () => {
  await worker?.dispose();
});

interface Pixels {
  width: number;
  height: number;
  data: Uint8Array;
}

async function decodeInWorkerd(body: Uint8Array): Promise<Pixels> {
  const res = await worker.fetch('http://test/decode', { method: 'POST', body });
  expect(res.status, await res.clone().text()).toBe(200);
  return {
    width: Number(res.headers.get('x-width')),
    height: Number(res.headers.get('x-height')),
    data: new Uint8Array(await res.arrayBuffer()),
  };
}

async function decodeWithSharp(body: Uint8Array, autorotate = false): Promise<Pixels> {
  const pipeline = autorotate ? sharp(body).rotate() : sharp(body);
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

function compare(a: Pixels, b: Pixels): { max: number; mean: number } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  expect(a.data.length).toBe(b.data.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs((a.data[i] as number) - (b.data[i] as number));
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.data.length };
}

const source = () => sharp(FIXTURE);
const encode = async (p: Promise<Buffer>) => new Uint8Array(await p);

describe('decoding in workerd', () => {
  it('decodes PNG and lossless WebP exactly', async () => {
    for (const body of [
      await encode(source().png().toBuffer()),
      await encode(source().webp({ lossless: true }).toBuffer()),
    ]) {
      expect(compare(await decodeInWorkerd(body), await decodeWithSharp(body)).max).toBe(0);
    }
  });

  it(`decodes JPEG and lossy WebP within ${JPEG_TOLERANCE} levels of sharp`, async () => {
    for (const body of [
      await encode(source().jpeg({ quality: 85 }).toBuffer()),
      await encode(source().jpeg({ quality: 85, progressive: true, chromaSubsampling: '4:4:4' }).toBuffer()),
      await encode(source().webp({ quality: 80 }).toBuffer()),
    ]) {
      const diff = compare(await decodeInWorkerd(body), await decodeWithSharp(body));
      expect(diff.max).toBeLessThanOrEqual(JPEG_TOLERANCE);
      expect(diff.mean).toBeLessThan(0.5);
    }
  });

  for (const orientation of [2, 3, 4, 5, 6, 7, 8]) {
    it(`turns an EXIF orientation ${orientation} JPEG upright like sharp's rotate()`, async () => {
      const body = await encode(source().withMetadata({ orientation }).jpeg({ quality: 90 }).toBuffer());
      const ours = await decodeInWorkerd(body);
      const upright = await decodeWithSharp(body, true);
      if (orientation >= 5) expect([ours.width, ours.height]).toEqual([200, 300]);
      const diff = compare(ours, upright);
      expect(diff.max).toBeLessThanOrEqual(JPEG_TOLERANCE);
      expect(diff.mean).toBeLessThan(0.5);
    });
  }

  it('honours EXIF orientation in WebP too', async () => {
    const body = await encode(source().withMetadata({ orientation: 6 }).webp({ lossless: true }).toBuffer());
    expect(compare(await decodeInWorkerd(body), await decodeWithSharp(body, true)).max).toBe(0);
  });

  it(`decode + preprocess agree with sharp + the same preprocess in Node (<= ${TENSOR_TOLERANCE})`, async () => {
    const body = await encode(source().withMetadata({ orientation: 8 }).jpeg({ quality: 90 }).toBuffer());
    const res = await worker.fetch(
      `http://test/preprocess?spec=${encodeURIComponent(JSON.stringify(SPEC))}`,
      {
        method: 'POST',
        body,
      },
    );
    expect(res.status).toBe(200);
    const ours = new Float32Array(await res.arrayBuffer());
    const ref = await decodeWithSharp(body, true);
    const expected = preprocess({ ...ref, channels: 3 }, SPEC);
    expect(ours.length).toBe(expected.length);
    let max = 0;
    for (let i = 0; i < ours.length; i++)
      max = Math.max(max, Math.abs((ours[i] as number) - (expected[i] as number)));
    expect(max).toBeLessThanOrEqual(TENSOR_TOLERANCE);
  });
});

describe('bad images in workerd', () => {
  const post = async (body: Uint8Array) => {
    const res = await worker.fetch('http://test/decode', { method: 'POST', body });
    if (res.status === 200) return { status: 200, body: { code: '' } };
    return { status: res.status, body: (await res.json()) as { code: string } };
  };

  it('rejects JPEGs with cut-off or corrupt scan data, then still decodes the next one', async () => {
    const jpeg = await encode(source().jpeg().toBuffer());
    // libjpeg would pad a truncated scan with grey and only warn; we refuse it before decoding.
    expect(await post(jpeg.subarray(0, Math.floor(jpeg.length / 3)))).toMatchObject({
      status: 400,
      body: { code: 'invalid_image' },
    });
    const garbage = jpeg.slice();
    const sos = Buffer.from(garbage).indexOf(Buffer.from([0xff, 0xda]));
    garbage.fill(0, sos + 2, sos + 4); // scan header length 0: a fatal libjpeg error
    expect(await post(garbage)).toMatchObject({ status: 400, body: { code: 'invalid_image' } });
    expect((await decodeInWorkerd(jpeg)).width).toBe(300);
  });

  it('rejects a PNG with corrupt image data as invalid_image, then still decodes PNGs', async () => {
    const png = await encode(source().png().toBuffer());
    expect(await post(png.subarray(0, Math.floor(png.length / 2)))).toMatchObject({
      status: 400,
      body: { code: 'invalid_image' },
    });
    expect((await decodeInWorkerd(png)).width).toBe(300);
  });

  it('rejects a truncated WebP as invalid_image', async () => {
    const webp = await encode(source().webp().toBuffer());
    expect(await post(webp.subarray(0, Math.floor(webp.length / 2)))).toMatchObject({
      status: 400,
      body: { code: 'invalid_image' },
    });
  });

  it('rejects an oversized image from its header (413) and non-images (415)', async () => {
    const png = await encode(
      sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    );
    new DataView(png.buffer, png.byteOffset).setUint32(16, 9000);
    new DataView(png.buffer, png.byteOffset).setUint32(20, 9000);
    expect(await post(png)).toMatchObject({ status: 413, body: { code: 'image_too_large' } });
    expect(await post(new TextEncoder().encode('GIF89a'))).toMatchObject({
      status: 415,
      body: { code: 'unsupported_media_type' },
    });
  });
});
