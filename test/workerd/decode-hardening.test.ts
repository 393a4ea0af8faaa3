import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_DECODE_MIN_SIDE } from '../../edge/image/edge-limits.ts';
import { generatedJpeg, jpegHiddenFrame } from '../../infra/bench/images.ts';
import { startDecodeWorker } from '../../infra/dev/workerd.ts';
import { concat } from '../../infra/fuzz/bytes.ts';
import { pngChunk, pngChunks } from '../../infra/fuzz/formats.ts';

// The edge decoder in real workerd against crafted and broken files: limits hold before the decoder
// allocates, truncated or damaged files are refused from their structure before a decoder runs, every
// failed decode replaces its codec instance (so nothing it allocated survives), and the isolate keeps
// decoding afterwards. Phone-sized JPEGs are decoded at reduced scale.

let worker: Awaited<ReturnType<typeof startDecodeWorker>>;

beforeAll(async () => {
  worker = await startDecodeWorker();
});

afterAll(async () => {
  await worker?.dispose();
});

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

describe('crafted and broken images in workerd', () => {
  it('refuses the JPEG that hides an 8000x8000 frame behind FF 00 before any decoder runs', async () => {
    const before = await instances();
    const result = await post(jpegHiddenFrame(8000, 8000));
    expect(result).toMatchObject({ status: 400, body: { code: 'invalid_image' } });
    expect(result.body.message).toMatch(/FF 00/);
    expect(await instances()).toEqual(before);
  });

  it('refuses truncated and CRC-damaged PNGs from their chunks, before any decoder runs', async () => {
    const png = new Uint8Array(
      await sharp(await generatedJpeg(400, 300))
        .png()
        .toBuffer(),
    );
    const idat = pngChunks(png).find((c) => c.name === 'IDAT');
    if (!idat) throw new Error('sharp wrote a PNG without IDAT');
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
    const png = new Uint8Array(
      await sharp(await generatedJpeg(400, 300))
        .png()
        .toBuffer(),
    );
    // Intact chunks whose zlib stream stops short: only the decoder can tell, after it has allocated.
    const idat = pngChunks(png).find((c) => c.name === 'IDAT');
    if (!idat) throw new Error('sharp wrote a PNG without IDAT');
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
  it('decodes a 12 MP JPEG with EXIF orientation 6 at 1/4 scale, then turns it upright', async () => {
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
    expect(copied).toMatchObject({ status: 200, size: [1200, 900], intact: true });
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
