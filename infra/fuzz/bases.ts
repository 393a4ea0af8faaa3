// The valid images every fuzz case starts from, made at run time: one per format variant the edge may meet.
// sharp writes all but APNG, which is assembled here from two PNG frames (acTL, fcTL, fdAT).
import sharp from 'sharp';
import { concat, put16be, put32be } from './bytes.ts';
import { type ImageType, PNG_SIGNATURE, pngChunk, pngChunks } from './formats.ts';
import { rng } from './prng.ts';

export interface Base {
  name: string;
  type: ImageType;
  width: number;
  height: number;
  bytes: Uint8Array;
}

/** A deterministic RGBA picture with gradients, blocks and noise, so encoders produce realistic streams. */
function picture(width: number, height: number, variant: number): Buffer {
  const random = rng(0x5eed + variant);
  const out = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const block = ((x >> 4) + (y >> 4) + variant) & 1;
      out[i] = (x * 255) / width + random.int(24);
      out[i + 1] = (y * 255) / height + (block ? 40 : 0);
      out[i + 2] = block ? 200 - random.int(32) : (((x + y) * 3) & 0xff) ^ variant;
      out[i + 3] = 255 - ((x * 160) / width) * (x > width / 3 ? 1 : 0);
    }
  }
  return out;
}

const image = (width: number, height: number, variant = 0) =>
  sharp(picture(width, height, variant), { raw: { width, height, channels: 4 } });
const opaque = (width: number, height: number, variant = 0) => image(width, height, variant).removeAlpha();

type Maker = [name: string, type: ImageType, width: number, height: number, make: () => Promise<Uint8Array>];

const MAKERS = (): Maker[] => [
  ['jpeg-baseline', 'image/jpeg', 320, 240, () => opaque(320, 240).jpeg({ quality: 85 }).toBuffer()],
  [
    'jpeg-progressive',
    'image/jpeg',
    256,
    256,
    () => opaque(256, 256).jpeg({ quality: 80, progressive: true }).toBuffer(),
  ],
  ['jpeg-gray', 'image/jpeg', 200, 300, () => opaque(200, 300).toColourspace('b-w').jpeg().toBuffer()],
  ['jpeg-cmyk', 'image/jpeg', 160, 120, () => opaque(160, 120).toColourspace('cmyk').jpeg().toBuffer()],
  ['png-palette', 'image/png', 128, 96, () => opaque(128, 96).png({ palette: true }).toBuffer()],
  ['png-trns', 'image/png', 96, 96, () => image(96, 96).png({ palette: true }).toBuffer()],
  ['png-16bit', 'image/png', 64, 64, () => image(64, 64).toColourspace('rgb16').png().toBuffer()],
  ['png-interlaced', 'image/png', 240, 180, () => opaque(240, 180).png({ progressive: true }).toBuffer()],
  ['png-apng', 'image/png', 80, 64, () => apng(80, 64)],
  ['webp-lossy', 'image/webp', 512, 384, () => opaque(512, 384).webp({ quality: 75 }).toBuffer()],
  ['webp-lossless', 'image/webp', 128, 128, () => opaque(128, 128).webp({ lossless: true }).toBuffer()],
  ['webp-alpha', 'image/webp', 200, 150, () => image(200, 150).webp({ quality: 80 }).toBuffer()],
  ['webp-animated', 'image/webp', 96, 96, () => animatedWebp(96, 96)],
];

export async function makeBases(): Promise<Base[]> {
  return Promise.all(
    MAKERS().map(async ([name, type, width, height, make]) => ({
      name,
      type,
      width,
      height,
      bytes: new Uint8Array(await make()),
    })),
  );
}

async function animatedWebp(width: number, height: number): Promise<Buffer> {
  const frames = await Promise.all([0, 1].map((v) => image(width, height, v).png().toBuffer()));
  return sharp(frames, { join: { animated: true } })
    .webp({ loop: 0, delay: [100, 100] })
    .toBuffer();
}

function fcTL(sequence: number, width: number, height: number): Uint8Array {
  const data = new Uint8Array(26);
  put32be(data, 0, sequence);
  put32be(data, 4, width);
  put32be(data, 8, height);
  // x and y offsets 0; delay 1/10 s; dispose none; blend source.
  put16be(data, 20, 1);
  put16be(data, 22, 10);
  return pngChunk('fcTL', data);
}

/** Two RGBA frames: the first is also the default image, the second travels in an fdAT chunk. */
async function apng(width: number, height: number): Promise<Uint8Array> {
  const [first, second] = await Promise.all(
    [0, 1].map(async (v) => new Uint8Array(await image(width, height, v).png({ palette: false }).toBuffer())),
  );
  if (!first || !second) throw new Error('APNG frames were not encoded');
  const chunksOf = (png: Uint8Array, name: string) => pngChunks(png).filter((c) => c.name === name);
  const ihdr = chunksOf(first, 'IHDR')[0];
  if (!ihdr) throw new Error('sharp wrote a PNG without IHDR');
  const actl = new Uint8Array(8);
  put32be(actl, 0, 2);
  const secondData = concat(...chunksOf(second, 'IDAT').map((c) => second.subarray(c.data, c.end - 4)));
  const fdat = new Uint8Array(4 + secondData.length);
  put32be(fdat, 0, 2);
  fdat.set(secondData, 4);
  return concat(
    PNG_SIGNATURE,
    first.subarray(ihdr.start, ihdr.end),
    pngChunk('acTL', actl),
    fcTL(0, width, height),
    ...chunksOf(first, 'IDAT').map((c) => first.subarray(c.start, c.end)),
    fcTL(1, width, height),
    pngChunk('fdAT', fdat),
    pngChunk('IEND', new Uint8Array(0)),
  );
}
