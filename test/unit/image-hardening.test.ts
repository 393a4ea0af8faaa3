import { Hono } from 'hono';
import sharp, { type JpegOptions } from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { decodeBusyError } from '../../edge/classify/decode-busy.ts';
import { DecodeBusyError, DecodeMemory } from '../../edge/image/decode-memory.ts';
import {
  DECODE_BUDGET_BYTES,
  JPEG_SCALES_EIGHTHS,
  jpegScaleEighths,
  PNG_MAX_PIXELS,
  planDecode,
  scaledSide,
  turboOutputSize,
} from '../../edge/image/decode-plan.ts';
import { decodeMinSideFor, EDGE_DECODE_MIN_SIDE, edgeImageLimits } from '../../edge/image/edge-limits.ts';
import { ImageError } from '../../edge/image/errors.ts';
import { checkDimensions } from '../../edge/image/limits.ts';
import { probeImage } from '../../edge/image/probe.ts';
import { jpegHiddenFrame, pngHeaderOnly, pngWithChunk, spliced } from '../../infra/bench/images.ts';
import { errorHandler } from '../../shared/http/errors.ts';

// Limits hold before allocation: the header walk agrees with libjpeg on which bytes are markers, PNG and
// WebP headers are checked against the frames inside them, and the decode cost is known in advance.

function rejection(fn: () => unknown): ImageError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ImageError) return error;
    throw error;
  }
  throw new Error('expected an ImageError');
}

const EDGE = edgeImageLimits(10 * 1024 * 1024, 4_000_000);

/** A baseline 4:2:0 JPEG's probe, 1 MB. */
const jpegProbe = (width: number, height: number) => ({
  type: 'image/jpeg' as const,
  width,
  height,
  orientation: 1,
  byteLength: 1024 * 1024,
  jpeg: {
    components: [
      { horizontal: 2, vertical: 2 },
      { horizontal: 1, vertical: 1 },
      { horizontal: 1, vertical: 1 },
    ],
    wholeImageCoefficients: false,
    scanOffset: 0,
  },
});
const jpeg = async (width: number, height: number, options: JpegOptions = {}) =>
  new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: '#48c' } })
      .jpeg(options)
      .toBuffer(),
  );

describe('JPEG marker walk', () => {
  it('rejects the file libjpeg reads as 8000x8000 behind a stuffed FF 00 (a lenient walk saw 16x16)', async () => {
    const bomb = jpegHiddenFrame(8000, 8000);
    expect(bomb.length).toBeLessThan(300);
    // libjpeg's own reading of the same bytes (through sharp): the frame it would allocate for.
    const libjpeg = await sharp(bomb).metadata();
    expect([libjpeg.width, libjpeg.height]).toEqual([8000, 8000]);
    const error = rejection(() => probeImage(bomb));
    expect(error.code).toBe('invalid_image');
    expect(error.message).toMatch(/FF 00 .* where a marker must stand/);
  });

  it('rejects stray bytes, TEM and RSTn where a marker must stand, and a second frame header', () => {
    // An empty comment, then bytes libjpeg would skip with a warning.
    const stray = jpegHiddenFrame(8000, 8000, [0xff, 0xfe, 0, 2, 0x12, 0x34]);
    expect(rejection(() => probeImage(stray)).message).toMatch(
      /non-marker bytes at offset 6 where a frame header must stand/,
    );
    expect(rejection(() => probeImage(jpegHiddenFrame(8000, 8000, [0xff, 0x01]))).message).toMatch(
      /TEM\/RSTn/,
    );
    expect(rejection(() => probeImage(jpegHiddenFrame(8000, 8000, [0xff, 0xd3]))).message).toMatch(
      /TEM\/RSTn/,
    );
  });

  it('agrees with libjpeg when the same bytes form a real APP0 segment, and rejects a second frame header', async () => {
    // With APP0 in place of FF 00, libjpeg and the walk both skip the 8000x8000 header inside it.
    const honest = jpegHiddenFrame(8000, 8000, [0xff, 0xe0]);
    expect(await sharp(honest).metadata()).toMatchObject({ width: 16, height: 16 });
    expect(probeImage(honest)).toMatchObject({ width: 16, height: 16 });
    const plain = await jpeg(40, 30);
    const sof = Buffer.from(plain).indexOf(Buffer.from([0xff, 0xc0]));
    const length = ((plain[sof + 2] as number) << 8) | (plain[sof + 3] as number);
    const second = plain.slice(sof, sof + 2 + length);
    second[5] = 0x7f; // height 0x7f1e
    const twice = spliced(plain, sof + 2 + length, [...second]);
    expect(rejection(() => probeImage(twice)).message).toMatch(/second frame header/);
  });

  it('accepts 0xFF fill bytes before a marker, as libjpeg does', async () => {
    const plain = await jpeg(40, 30);
    const filled = spliced(plain, 2, [0xff, 0xff, 0xff]);
    expect((await sharp(filled).metadata()).width).toBe(40);
    expect(probeImage(filled)).toMatchObject({ width: 40, height: 30 });
  });

  it('rejects a stray byte between segments and an unknown marker', async () => {
    const plain = await jpeg(40, 30);
    const app0End = 4 + ((plain[4] as number) << 8) + (plain[5] as number);
    expect(rejection(() => probeImage(spliced(plain, app0End, [0x00]))).message).toMatch(/non-marker bytes/);
    expect(rejection(() => probeImage(spliced(plain, app0End, [0xff, 0xde, 0, 2]))).message).toMatch(
      /unknown marker FF DE/,
    );
  });
});

describe('PNG and WebP headers', () => {
  it('rejects a second IHDR and an APNG frame outside the canvas', () => {
    const png = pngHeaderOnly(16, 16);
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(9000, 0);
    ihdr.writeUInt32BE(9000, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const withIdat = pngWithChunk(
      spliced(png, png.length - 12, [0, 0, 0, 0, 73, 68, 65, 84, 0, 0, 0, 0]),
      'IHDR',
      ihdr,
    );
    expect(rejection(() => probeImage(withIdat)).message).toMatch(/second IHDR/);
    const fctl = Buffer.alloc(26);
    fctl.writeUInt32BE(9000, 4);
    fctl.writeUInt32BE(16, 8);
    const apng = pngWithChunk(
      spliced(png, png.length - 12, [0, 0, 0, 0, 73, 68, 65, 84, 0, 0, 0, 0]),
      'fcTL',
      fctl,
    );
    expect(rejection(() => probeImage(apng)).message).toMatch(
      /frame 9000x16 .* does not fit the 16x16 canvas/,
    );
  });

  it('rejects an invalid colour type / bit depth pair', () => {
    const png = pngHeaderOnly(16, 16);
    png[24] = 16; // 16-bit palette does not exist
    png[25] = 3;
    expect(rejection(() => probeImage(png)).message).toMatch(/colour type 3 \/ bit depth 16/);
  });

  it('rejects a VP8X canvas that differs from its frame', async () => {
    const webp = new Uint8Array(
      await sharp({ create: { width: 40, height: 30, channels: 4, background: '#48c8' } })
        .webp()
        .toBuffer(),
    );
    expect(String.fromCharCode(...webp.subarray(12, 16))).toBe('VP8X');
    const grown = webp.slice();
    grown[24] = 0xff; // canvas width - 1, low byte
    grown[25] = 0x1f;
    expect(rejection(() => probeImage(grown)).message).toMatch(/canvas but holds a 40x30 frame/);
  });
});

describe('decode plan and edge limits', () => {
  it('takes twice the resize target of the model the decode is for, and the largest where none is named', () => {
    expect(decodeMinSideFor('efficientnet-b0')).toBe(512); // resize 256 for every B0 weight source
    expect(decodeMinSideFor('efficientnet-b1')).toBe(544); // B1's tf resize target is 272
    expect(EDGE_DECODE_MIN_SIDE).toBe(544);
  });

  it('reduces by M/8 to the strongest scale that keeps the shorter side >= the minimum side', () => {
    // [width, height, minSide] -> eighths, decoded size
    const cases = [
      [1155, 866, 512, 5, 722, 542], // the 1 MP bench photo for B0: 4/8 would give 433
      [1155, 866, 544, 6, 867, 650], // the same for B1: 5/8 gives 542 < 544
      [866, 1155, 512, 5, 542, 722], // portrait: the shorter side is the width
      [4032, 3024, 544, 2, 1008, 756], // 12 MP: 1/8 would give 378
      [4032, 3024, 512, 2, 1008, 756],
      [6000, 4000, 544, 2, 1500, 1000],
      [2309, 1732, 512, 3, 866, 650], // 2/8 gives 433
      [1280, 800, 544, 6, 960, 600], // 5/8 gives 500
      [8000, 8000, 544, 1, 1000, 1000],
      [800, 600, 512, 8, 800, 600], // 7/8 would give 525 but is not used: full size
      [640, 480, 512, 8, 640, 480], // already under the minimum
    ] as const;
    for (const [width, height, minSide, eighths, outWidth, outHeight] of cases) {
      expect(jpegScaleEighths(width, height, minSide), `${width}x${height} >= ${minSide}`).toBe(eighths);
      expect(planDecode(jpegProbe(width, height), minSide)).toMatchObject({
        scaleEighths: eighths,
        width: outWidth,
        height: outHeight,
      });
    }
    expect(JPEG_SCALES_EIGHTHS).not.toContain(7);
  });

  it('plans YCbCr planes from 5/8 up where they fit the decode budget, and counts them', () => {
    const photo = planDecode(jpegProbe(1155, 866), 512); // 5/8: planes
    expect(photo).toMatchObject({ scaleEighths: 5, planar: true });
    expect(photo.heapBytes - planDecode(jpegProbe(4032, 3024), 512).heapBytes).toBeGreaterThan(0);
    expect(photo.heapBytes).toBeGreaterThanOrEqual(722 * 542 * 6);
    expect(planDecode(jpegProbe(4032, 3024), 512)).toMatchObject({ scaleEighths: 2, planar: false });
    // A strip too narrow to reduce, decoded whole: planes would pass the budget, libjpeg's RGB does not.
    const strip = planDecode(jpegProbe(600, 3500), 512);
    expect(strip).toMatchObject({ scaleEighths: 8, planar: false });
    expect(strip.bytes).toBeLessThanOrEqual(DECODE_BUDGET_BYTES);
    expect(strip.bytes + 600 * 3500 * 3).toBeGreaterThan(DECODE_BUDGET_BYTES);
    expect(planDecode({ ...jpegProbe(64, 64), type: 'image/png' as const }, 512).planar).toBe(false);
  });

  it('plans exactly the size TurboJPEG writes, for every factor and odd sizes', () => {
    // turboOutputSize follows tjDecompress2's choice among its 16 factors; the plan must be what it writes.
    for (let side = 1; side <= 3000; side += side < 40 ? 1 : 37) {
      for (const eighths of [1, 2, 3, 4, 5, 6, 7, 8]) {
        const image = { width: side + 13, height: side };
        const out = { width: scaledSide(image.width, eighths), height: scaledSide(image.height, eighths) };
        expect(out.height).toBe(Math.ceil((side * eighths) / 8));
        expect(turboOutputSize(image, out), `${image.width}x${image.height} at ${eighths}/8`).toEqual(out);
      }
    }
    // A size no factor reaches is not planned: TurboJPEG would write something smaller.
    expect(turboOutputSize({ width: 1155, height: 866 }, { width: 700, height: 542 })).toEqual({
      width: 578,
      height: 433,
    });
  });

  it('accepts 12 and 24 MP baseline JPEGs within the decode budget, and names the limit when not', () => {
    const probe = (width: number, height: number, extra: object = {}) => ({
      ...jpegProbe(width, height),
      orientation: 6,
      byteLength: 8 * 1024 * 1024,
      ...extra,
    });
    expect(() => checkDimensions(probe(4032, 3024), EDGE)).not.toThrow();
    expect(() => checkDimensions(probe(6000, 4000), EDGE)).not.toThrow();
    expect(planDecode(probe(6000, 4000), EDGE_DECODE_MIN_SIDE)).toMatchObject({
      width: 1500,
      height: 1000,
      scaleEighths: 2,
    });
    expect(planDecode(probe(6000, 4000), EDGE_DECODE_MIN_SIDE).bytes).toBeLessThanOrEqual(
      DECODE_BUDGET_BYTES,
    );
    // A long strip cannot be reduced and is too many pixels to decode whole.
    expect(rejection(() => checkDimensions(probe(9000, 600), EDGE)).message).toMatch(
      /decode to 9000x600 \(full size, 5400000 pixels\)/,
    );
    // Reduced, and still too many pixels: the message names the scale.
    expect(rejection(() => checkDimensions(probe(10000, 727), EDGE)).message).toMatch(
      /decode to 7500x546 \(6\/8 scale, 4095000 pixels\)/,
    );
    // Progressive: libjpeg keeps every coefficient (3 bytes a pixel at 4:2:0) whatever the output scale.
    const progressive = probe(4032, 3024);
    progressive.jpeg.wholeImageCoefficients = true;
    expect(rejection(() => checkDimensions(progressive, EDGE)).message).toMatch(
      /keeps every DCT coefficient/,
    );
  });

  it('gives PNG its own pixel limit and says why', () => {
    const png = { type: 'image/png' as const, width: 2000, height: 1500, orientation: 1, byteLength: 1000 };
    const error = rejection(() => checkDimensions(png, EDGE));
    expect(error.code).toBe('image_too_large');
    expect(error.message).toMatch(
      /PNG exceeds the \d\.\d MP PNG limit .* cannot be decoded at reduced scale/,
    );
    expect(PNG_MAX_PIXELS).toBeLessThan(3_000_000);
    expect(() => checkDimensions({ ...png, width: 1200, height: 1000 }, EDGE)).not.toThrow();
  });
});

describe('DecodeMemory', () => {
  it('queues beyond the budget, serves in order, and answers busy after the wait', async () => {
    vi.useFakeTimers();
    try {
      const memory = new DecodeMemory({ budgetBytes: 100, maxWaitMs: 50, leaseMs: 10_000 });
      const first = await memory.acquire(60);
      const order: string[] = [];
      const second = memory.acquire(60).then((lease) => {
        order.push('second');
        return lease;
      });
      const third = memory.acquire(30).then(() => order.push('third'));
      await Promise.resolve();
      expect(order).toEqual([]); // the third fits but waits its turn behind the second
      first.release();
      const lease = await second;
      await third;
      expect(order).toEqual(['second', 'third']);
      const late = memory.acquire(60);
      const outcome = late.then(
        () => 'granted',
        (error: Error) => error.message,
      );
      await vi.advanceTimersByTimeAsync(60);
      expect(await outcome).toBe('decode memory is busy');
      lease.release();
      expect(memory.inUse()).toBe(30); // the third's lease is still held
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets an unreleased lease lapse, and runs one oversized image alone', async () => {
    let now = 0;
    const memory = new DecodeMemory({ budgetBytes: 100, maxWaitMs: 50, leaseMs: 1000, now: () => now });
    await memory.acquire(80);
    now = 1001;
    expect(memory.inUse()).toBe(0);
    const big = await memory.acquire(500);
    expect(memory.inUse()).toBe(500);
    big.release();
    expect(memory.inUse()).toBe(0);
  });
});

describe('decode memory busy', () => {
  it('answers 503 with Retry-After once the wait for decode memory ran out', async () => {
    vi.useFakeTimers();
    try {
      const memory = new DecodeMemory({ budgetBytes: 100, maxWaitMs: 2500, leaseMs: 10_000 });
      const held = await memory.acquire(100);
      const app = new Hono();
      app.onError(errorHandler({ log: () => {} }));
      app.get('/decode', async (c) => {
        try {
          (await memory.acquire(10)).release();
        } catch (error) {
          if (error instanceof DecodeBusyError) throw decodeBusyError(2500);
          throw error;
        }
        return c.text('decoded');
      });
      const pending = app.request('/decode');
      await vi.advanceTimersByTimeAsync(2600);
      const response = await pending;
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('3');
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('tier_unavailable');
      expect(body.error.message).toContain('retry in 3 s');
      held.release();
      expect(await (await app.request('/decode')).text()).toBe('decoded');
    } finally {
      vi.useRealTimers();
    }
  });
});
