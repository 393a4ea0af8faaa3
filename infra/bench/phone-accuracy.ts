// Does reduced-scale decoding move accuracy? The 100 labelled ImageNet validation photos in
// ../shared/data/imagenet-val-100 are re-encoded as 12 MP phone JPEGs (4032x3024, q92; portrait photos
// stored landscape with EXIF orientation 6, as phones do), decoded by the edge's decode path in real
// workerd (probe, edge limits, libjpeg-turbo DCT scaling, orientation), preprocessed with the shared
// preprocessing and classified by MobileNet-v2 (real ImageNet weights, onnxruntime-node). Compared with
// the originals decoded as the eval does, and with the same 12 MP JPEG decoded at full size by libvips.
// Prints JSON; skips with a printed reason when ../shared is absent.
//
//   npm run -s bench:phone -- --json [--limit N] [--size 4032x3024] [--min-side N]
//
// --size re-encodes at another size (long x short side); --min-side tries another reduction rule than the
// edge's: the strongest M/8 reduction whose shorter side stays >= N, by default 512, the rule for B0
// (decodeMinSideFor: twice its resize target, 256, which MobileNet-v2 224 shares). 544 is B1's.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { jpegScaleEighths, scaleName } from '../../edge/image/decode-plan.ts';
import { decodeMinSideFor } from '../../edge/image/edge-limits.ts';
import type { RgbImage } from '../../shared/preprocess/index.ts';
import { REPO_ROOT, startDecodeWorker } from '../dev/workerd.ts';
import { loadCatalog, pickModel } from '../eval/catalog.ts';
import { openClassifier } from '../eval/classifier.ts';
import { decodeImage as decodeLikeEval, readLabels } from '../eval/dataset.ts';

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
const SHARED = path.resolve(REPO_ROOT, '../shared');
const DATA = path.join(SHARED, 'data/imagenet-val-100');
const CATALOG = path.join(SHARED, 'models/imagenet-mobilenet/models.json');
const MODEL = 'mobilenet_v2_1.0_224';
const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const LIMIT = option('--limit') === undefined ? undefined : Number(option('--limit'));
const [long, short] = (option('--size') ?? '4032x3024').split('x').map(Number);
if (!long || !short || short > long) throw new Error('--size must be LONGxSHORT, e.g. 4032x3024');
const PHONE = { long, short };
const MIN_SIDE = Number(option('--min-side') ?? decodeMinSideFor('efficientnet-b0'));
if (!Number.isInteger(MIN_SIDE) || MIN_SIDE < 1)
  throw new Error('--min-side must be a positive whole number');
const log = (message: string) => {
  if (!args.includes('--json')) console.error(message);
};

/** The photo as a phone would store it: 4032x3024 pixels (--size), portrait ones rotated with EXIF orientation 6. */
async function phoneJpeg(file: string): Promise<{ jpeg: Buffer; aspectChange: number }> {
  const { width = 1, height = 1 } = await sharp(file).metadata();
  const portrait = height > width;
  const aspectChange = Math.abs(Math.max(width, height) / Math.min(width, height) / (4 / 3) - 1);
  // Orientation 6 means "rotate 90 degrees clockwise to view": store the upright photo rotated back.
  const stored = sharp(file)
    .rotate(portrait ? -90 : 0)
    .resize(PHONE.long, PHONE.short, { fit: 'fill', kernel: 'lanczos3' });
  const jpeg = await (portrait ? stored.withMetadata({ orientation: 6 }) : stored)
    .jpeg({ quality: 92 })
    .toBuffer();
  return { jpeg, aspectChange };
}

async function main(): Promise<void> {
  for (const [what, where] of [
    ['photos', DATA],
    ['MobileNet catalog', CATALOG],
  ] as const) {
    if (!existsSync(where)) {
      console.log(JSON.stringify({ skipped: `${what} not found at ${where}` }));
      return;
    }
  }
  const model = pickModel(loadCatalog(CATALOG), MODEL);
  const classifier = await openClassifier(model, 1);
  const photos = readLabels(DATA, LIMIT);
  const worker = await startDecodeWorker();
  const edgeDecode = async (jpeg: Buffer): Promise<RgbImage> => {
    const res = await worker.fetch(`http://bench/decode?minSide=${MIN_SIDE}`, {
      method: 'POST',
      body: new Uint8Array(jpeg),
    });
    if (res.status !== 200) throw new Error(`edge decode: HTTP ${res.status} ${await res.text()}`);
    const width = Number(res.headers.get('x-width'));
    const height = Number(res.headers.get('x-height'));
    return { width, height, channels: 3, data: new Uint8Array(await res.arrayBuffer()) };
  };
  const rows: {
    label: number;
    original: Top;
    edge: Top;
    full: Top;
    aspectChange: number;
    edgeSize: string;
  }[] = [];
  try {
    for (const [i, photo] of photos.entries()) {
      const { jpeg, aspectChange } = await phoneJpeg(photo.file);
      const original = top(await classifier.classify(await decodeLikeEval(photo.file)));
      const reduced = await edgeDecode(jpeg);
      const edge = top(await classifier.classify(reduced));
      const fullPixels = await sharp(jpeg, { autoOrient: true })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const full = top(
        await classifier.classify({
          width: fullPixels.info.width,
          height: fullPixels.info.height,
          channels: 3,
          data: new Uint8Array(fullPixels.data),
        }),
      );
      rows.push({
        label: photo.label,
        original,
        edge,
        full,
        aspectChange,
        edgeSize: `${reduced.width}x${reduced.height}`,
      });
      log(`${i + 1}/${photos.length} ${path.basename(photo.file)} ${reduced.width}x${reduced.height}`);
    }
  } finally {
    await worker.dispose();
    await classifier.close();
  }
  const correct = (pick: (r: (typeof rows)[number]) => Top) =>
    rows.filter((r) => pick(r).index === r.label).length;
  const changed = (pick: (r: (typeof rows)[number]) => Top) =>
    rows.filter((r) => pick(r).index !== r.original.index).length;
  const meanDelta = (pick: (r: (typeof rows)[number]) => Top) =>
    round(rows.reduce((s, r) => s + Math.abs(pick(r).p - r.original.p), 0) / rows.length, 4);
  const maxDelta = (pick: (r: (typeof rows)[number]) => Top) =>
    round(Math.max(...rows.map((r) => Math.abs(pick(r).p - r.original.p))), 4);
  const result = {
    model: MODEL,
    images: rows.length,
    phone_jpeg: `${PHONE.long}x${PHONE.short} q92, portrait photos with EXIF orientation 6`,
    min_side: MIN_SIDE,
    decoded_at: scaleName(jpegScaleEighths(PHONE.long, PHONE.short, MIN_SIDE)),
    edge_decoded_sizes: [...new Set(rows.map((r) => r.edgeSize))],
    aspect_changed_over_2pct: rows.filter((r) => r.aspectChange > 0.02).length,
    top1_correct: {
      original: correct((r) => r.original),
      edge_reduced: correct((r) => r.edge),
      full_decode: correct((r) => r.full),
    },
    top1_class_changed_vs_original: {
      edge_reduced: changed((r) => r.edge),
      full_decode: changed((r) => r.full),
    },
    top1_class_changed_edge_vs_full_decode: rows.filter((r) => r.edge.index !== r.full.index).length,
    mean_abs_delta_top1_prob: {
      edge_reduced: meanDelta((r) => r.edge),
      full_decode: meanDelta((r) => r.full),
    },
    max_abs_delta_top1_prob: { edge_reduced: maxDelta((r) => r.edge), full_decode: maxDelta((r) => r.full) },
    // The criterion: top-1 accuracy through the edge equals the originals' within one image.
    pass: Math.abs(correct((r) => r.edge) - correct((r) => r.original)) <= 1,
    load_average: loadavg().map((x) => round(x, 1)),
  };
  console.log(JSON.stringify(result, null, 2));
}

interface Top {
  index: number;
  p: number;
}
const top = (p: { top5: readonly number[]; confidence: number }): Top => ({
  index: p.top5[0] ?? -1,
  p: p.confidence,
});
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
