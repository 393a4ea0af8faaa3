import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDecode } from '../../edge/image/decode-plan.ts';
import { decodeMinSideFor, EDGE_DECODE_MIN_SIDE } from '../../edge/image/edge-limits.ts';
import { probeImage } from '../../edge/image/probe.ts';
import { generatedJpeg, jpegHiddenFrame, testPhoto } from '../../infra/bench/images.ts';
import { startDecodeWorker } from '../../infra/dev/workerd.ts';
import { concat } from '../../infra/fuzz/bytes.ts';
import { pngChunk, pngChunks } from '../../infra/fuzz/formats.ts';
import { preprocessFor } from '../../shared/catalog/models.ts';
import { type PreprocessSpec, preprocess } from '../../shared/preprocess/index.ts';

// The edge decoder (WASM codecs imported as modules) running in real workerd, compared with sharp (libvips)
// decoding the same bytes in Node; then crafted and broken files (below). One decode Worker serves both.
// Decoding compared with sharp:
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

// Crafted and broken files: limits hold before the decoder allocates, truncated or damaged files are
// refused from their structure before a decoder runs, every failed decode replaces its codec instance (so
// nothing it allocated survives), and the isolate keeps decoding afterwards. Phone-sized JPEGs are decoded
// at reduced scale.

async function post(body: Uint8Array, minSide = EDGE_DECODE_MIN_SIDE, heap = false) {
  const query = `minSide=${minSide}${heap ? '&heap=1' : ''}`;
  const res = await worker.fetch(`http://test/decode?${query}`, { method: 'POST', body });
  if (res.status === 200) {
    const size = [Number(res.headers.get('x-width')), Number(res.headers.get('x-height'))];
    return {
      status: 200,
      size,
      intact: res.headers.get('x-upload-intact') === '1',
      data: new Uint8Array(await res.arrayBuffer()),
      body: { code: '', message: '' },
    };
  }
  return {
    status: res.status,
    size: [],
    intact: false,
    data: new Uint8Array(),
    body: (await res.json()) as { code: string; message: string },
  };
}

async function instances(): Promise<{ jpeg: number; png: number }> {
  return (await (await worker.fetch('http://test/instances')).json()) as { jpeg: number; png: number };
}

/** A 400x300 PNG and its IDAT chunk, for damaging. */
async function pngWithIdat() {
  const png = new Uint8Array(
    await sharp(await generatedJpeg(400, 300))
      .png()
      .toBuffer(),
  );
  const idat = pngChunks(png).find((c) => c.name === 'IDAT');
  if (!idat) throw new Error('sharp wrote a PNG without IDAT');
  return { png, idat };
}

describe('crafted and broken images in workerd', () => {
  it('refuses the JPEG that hides an 8000x8000 frame behind FF 00 before any decoder runs', async () => {
    const before = await instances();
    const result = await post(jpegHiddenFrame(8000, 8000));
    expect(result).toMatchObject({ status: 400, body: { code: 'invalid_image' } });
    expect(result.body.message).toMatch(/FF 00/);
    expect(await instances()).toEqual(before);
  });

  it('refuses truncated and CRC-damaged PNGs from their chunks, before any decoder runs', async () => {
    const { png, idat } = await pngWithIdat();
    const damaged = png.slice();
    damaged[idat.data + 100] = (damaged[idat.data + 100] as number) ^ 0x40;
    const before = await instances();
    const truncated = await post(png.subarray(0, Math.floor(png.length * 0.6)));
    expect(truncated).toMatchObject({ status: 400, body: { code: 'invalid_image' } });
    expect(truncated.body.message).toMatch(/^PNG ends before IEND \(truncated/);
    expect(await post(damaged)).toMatchObject({
      status: 400,
      body: { code: 'invalid_image', message: `PNG chunk IDAT at offset ${idat.start} has a bad CRC` },
    });
    expect(await instances()).toEqual(before);
  });

  it('replaces the PNG instance after each of 30 failed decodes, then decodes a PNG exactly', async () => {
    const { png, idat } = await pngWithIdat();
    // Intact chunks whose zlib stream stops short: only the decoder can tell, after it has allocated.
    const cut = pngChunk(
      'IDAT',
      png.slice(idat.data, idat.data + Math.floor((idat.end - 4 - idat.data) * 0.6)),
    );
    const brokenStream = concat(png.subarray(0, idat.start), cut, png.subarray(idat.end));
    const before = await instances();
    for (let i = 0; i < 30; i++) {
      const result = await post(brokenStream);
      expect(result).toMatchObject({ status: 400, body: { code: 'invalid_image' } });
      expect(result.body.message).toMatch(/^could not decode the PNG image/);
    }
    // One instance was created per failure (each failed instance is dropped), plus none yet for the next.
    expect((await instances()).png - before.png).toBeGreaterThanOrEqual(29);
    const ok = await post(png);
    expect(ok.status).toBe(200);
    const ref = await sharp(png).removeAlpha().raw().toBuffer();
    expect(Buffer.from(ok.data).equals(ref)).toBe(true);
  });

  it('survives repeated libjpeg errors (a longjmp through WASM) and then decodes', async () => {
    const jpeg = await generatedJpeg(640, 480);
    const broken = jpeg.slice();
    // A Huffman table claiming more codes than its segment holds: fatal inside libjpeg, invisible to the walk.
    const dht = Buffer.from(broken).indexOf(Buffer.from([0xff, 0xc4]));
    broken[dht + 5] = 0xff;
    const before = await instances();
    for (let i = 0; i < 20; i++) {
      const result = await post(broken);
      expect(result).toMatchObject({ status: 400, body: { code: 'invalid_image' } });
    }
    expect((await instances()).jpeg - before.jpeg).toBeGreaterThanOrEqual(19);
    expect((await post(jpeg)).size).toEqual([640, 480]);
  });
});

describe('phone photos in workerd', () => {
  it('decodes a 12 MP JPEG with EXIF orientation 6 at 2/8 scale, then turns it upright', async () => {
    const body = new Uint8Array(
      await sharp(await generatedJpeg(4032, 3024))
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    const ours = await post(body);
    expect(ours.status).toBe(200);
    expect(ours.size).toEqual([756, 1008]);
    // libvips shrinks JPEGs on load with the same DCT scaling; then rotates.
    const ref = await sharp(body, { autoOrient: true }).resize(756, 1008).removeAlpha().raw().toBuffer();
    let sum = 0;
    for (let i = 0; i < ref.length; i++) sum += Math.abs((ours.data[i] as number) - (ref[i] as number));
    // Tolerance: both scale in the DCT domain, but libvips may add its own resampling step: mean < 3 levels.
    expect(sum / ref.length).toBeLessThan(3);
  });

  it('decodes the 1 MP photo at 5/8 for B0 and 6/8 for B1, to the planned size, then turns it upright', async () => {
    const body = new Uint8Array(
      await sharp(await generatedJpeg(1155, 866))
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    const cases = [
      ['efficientnet-b0', 5, [542, 722]],
      ['efficientnet-b1', 6, [650, 867]],
    ] as const;
    for (const [model, eighths, upright] of cases) {
      const minSide = decodeMinSideFor(model);
      const plan = planDecode(probeImage(body), minSide);
      expect(plan).toMatchObject({ scaleEighths: eighths, width: upright[1], height: upright[0] });
      const ours = await post(body, minSide);
      expect(ours.status, ours.body.message).toBe(200);
      expect(ours.size).toEqual(upright); // orientation 6: stored 1155x866, upright 866 wide
      expect(Math.min(...ours.size)).toBeGreaterThanOrEqual(minSide);
      // The same decode where the upload lies in the decoder's heap gives the same pixels.
      const inHeap = await post(body, minSide, true);
      expect(inHeap).toMatchObject({ status: 200, size: upright, intact: true });
      expect(Buffer.from(inHeap.data).equals(Buffer.from(ours.data))).toBe(true);
      // libvips has no M/8 shrink-on-load: compare with its full-size decode resized to the same size.
      // Tolerance: two different downsampling filters on a smooth image, mean < 3 levels.
      const ref = await sharp(body, { autoOrient: true })
        .resize(upright[0], upright[1], { fit: 'fill' })
        .removeAlpha()
        .raw()
        .toBuffer();
      expect(ours.data.length).toBe(ref.length);
      let sum = 0;
      for (let i = 0; i < ref.length; i++) sum += Math.abs((ours.data[i] as number) - (ref[i] as number));
      expect(sum / ref.length).toBeLessThan(3);
    }
  });

  it('decodes a 24 MP upload where it lies in the decoder heap, with the same pixels, keeping the upload', async () => {
    const jpeg = await generatedJpeg(6000, 4000);
    const fromJs = await post(jpeg);
    const inHeap = await post(jpeg, EDGE_DECODE_MIN_SIDE, true);
    expect(inHeap).toMatchObject({ status: 200, size: [1500, 1000], intact: true });
    expect(Buffer.from(inHeap.data).equals(Buffer.from(fromJs.data))).toBe(true);
    // A failed decode in an upload's own instance is an image error; the next upload decodes.
    const broken = jpeg.slice();
    const dht = Buffer.from(broken).indexOf(Buffer.from([0xff, 0xc4]));
    broken[dht + 5] = 0xff;
    expect(await post(broken, EDGE_DECODE_MIN_SIDE, true)).toMatchObject({
      status: 400,
      body: { code: 'invalid_image' },
    });
    expect((await post(jpeg, EDGE_DECODE_MIN_SIDE, true)).size).toEqual([1500, 1000]);
    // A progressive file keeps every coefficient while decoding: more than the upload's reserve, so it is
    // decoded from a copy, and the upload stays intact all the same.
    const progressive = new Uint8Array(
      await sharp(await generatedJpeg(2400, 1800))
        .jpeg({ progressive: true })
        .toBuffer(),
    );
    const copied = await post(progressive, EDGE_DECODE_MIN_SIDE, true);
    expect(copied).toMatchObject({ status: 200, size: [900, 675], intact: true }); // 3/8
    expect(Buffer.from(copied.data).equals(Buffer.from((await post(progressive)).data))).toBe(true);
  });

  it('decodes a 24 MP JPEG to 1500x1000 and refuses the same as PNG with the PNG limit', async () => {
    const jpeg = await generatedJpeg(6000, 4000);
    expect((await post(jpeg)).size).toEqual([1500, 1000]);
    const png = new Uint8Array(await sharp(jpeg).resize(3000, 2000).png({ compressionLevel: 1 }).toBuffer());
    const refused = await post(png);
    expect(refused).toMatchObject({ status: 413, body: { code: 'image_too_large' } });
    expect(refused.body.message).toMatch(/PNG limit/);
  });
});

// The edge's WebAssembly SIMD preprocessing, run where it is deployed (the .wasm imported as a module),
// against shared/preprocess's JavaScript in the same Worker on the same decoded pixels: the tensors must be
// identical (tolerance: none). test/unit/simd-preprocess.test.ts covers the shapes.

async function preprocessedInWorkerd(body: Uint8Array, spec: PreprocessSpec, minSide: number, impl?: 'edge') {
  const query = new URLSearchParams({ spec: JSON.stringify(spec), minSide: String(minSide) });
  if (impl) query.set('impl', impl);
  const res = await worker.fetch(`http://test/preprocess?${query}`, { method: 'POST', body });
  expect(res.status, await res.clone().text()).toBe(200);
  return new Float32Array(await res.arrayBuffer());
}

async function expectSameInWorkerd(body: Uint8Array, spec: PreprocessSpec, minSide: number) {
  const edge = await preprocessedInWorkerd(body, spec, minSide, 'edge');
  const shared = await preprocessedInWorkerd(body, spec, minSide);
  expect(edge.length).toBe(3 * spec.cropSize * spec.cropSize);
  expect(shared.length).toBe(edge.length);
  expect(
    edge.findIndex((v, i) => !Object.is(v, shared[i])),
    'first differing value',
  ).toBe(-1);
}

describe('edge preprocessing in workerd', () => {
  it('equals shared/preprocess for B0 and B1 on the 1 MP photo (decoded at 5/8 and 6/8)', async () => {
    const photo = await sharp((await testPhoto()).bytes)
      .resize(1155, 866, { fit: 'fill' })
      .jpeg({ quality: 90 })
      .toBuffer();
    for (const variant of ['b0', 'b1'] as const) {
      const spec = preprocessFor(variant, 'timm');
      await expectSameInWorkerd(new Uint8Array(photo), spec, decodeMinSideFor(`efficientnet-${variant}`));
    }
  });

  it('equals shared/preprocess on a JPEG turned upright from EXIF orientation 6', async () => {
    const jpeg = await sharp((await testPhoto()).bytes)
      .resize(640, 427, { fit: 'fill' })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 85 })
      .toBuffer();
    await expectSameInWorkerd(new Uint8Array(jpeg), preprocessFor('b1', 'tf'), 544);
  });

  it('equals shared/preprocess on an RGBA PNG (decoded to 4 channels)', async () => {
    const png = await sharp((await testPhoto()).bytes)
      .resize(301, 203, { fit: 'fill' })
      .ensureAlpha(0.5)
      .png()
      .toBuffer();
    await expectSameInWorkerd(new Uint8Array(png), preprocessFor('b0', 'timm'), 512);
  });
});
