import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CascadePoint } from '../../infra/eval/cascade.ts';
import { loadCatalog, pickModel } from '../../infra/eval/catalog.ts';
import { main } from '../../infra/eval/cli.ts';
import { decodeImage } from '../../infra/eval/dataset.ts';
import { type EvalReport, evaluate } from '../../infra/eval/evaluate.ts';
import { parseOnnx } from '../../infra/eval/onnx-graph.ts';
import { renderPlot } from '../../infra/eval/plot.ts';
import { buildModelFiles } from '../../infra/models/build.ts';
import { testModels } from '../../infra/models/cache.ts';
import { preprocessFor } from '../../shared/catalog/models.ts';
import type { EfficientNetConfig } from '../../shared/efficientnet/config.ts';
import {
  exportEfficientNet,
  exportEfficientNetChunks,
  IR_VERSION,
  OPSET,
} from '../../shared/efficientnet/export.ts';
import { countMacs } from '../../shared/onnx/macs.ts';
import { DataType, encodeModel, type OnnxGraph, type OnnxModel } from '../../shared/onnx/model.ts';
import { concatChunks } from '../../shared/onnx/protobuf.ts';

const CLASSES = 10;
const SIDE = 32;
const FILTERS = 8;
// The edge model: a small conv classifier whose logits stay within a few units, so its confidences spread
// out. (Randomly initialised EfficientNets give logits in the thousands: every softmax saturates at 1.)
const EDGE_MACS = FILTERS * (SIDE / 2) ** 2 * 27 + FILTERS * CLASSES;
const ORIGIN: EfficientNetConfig = {
  width: 0.25,
  depth: 0.34,
  resolution: 40,
  numClasses: CLASSES,
  bnEps: 1e-5,
  padding: 'tf_same',
};
const ABOVE_ONE = 1.01;

/** Checks that hold for every cascade report; each compares two independently computed numbers. */
function expectConsistent(report: EvalReport): void {
  const n = report.images.length;
  const recount = (pick: (i: (typeof report.images)[number]) => { top5: readonly number[] }) => ({
    top1: report.images.filter((s) => pick(s).top5[0] === s.label).length / n,
    top5: report.images.filter((s) => pick(s).top5.includes(s.label)).length / n,
  });
  expect({ top1: report.edge.top1, top5: report.edge.top5 }).toEqual(recount((s) => s.edge));
  expect({ top1: report.origin.top1, top5: report.origin.top5 }).toEqual(recount((s) => s.origin));

  let previousRate = -1;
  for (const point of report.cascade) {
    const chosen = (s: (typeof report.images)[number]) =>
      s.edge.confidence < point.threshold ? s.origin : s.edge;
    expect({ top1: point.top1, top5: point.top5 }).toEqual(recount(chosen));
    expect(point.escalated).toBe(report.images.filter((s) => s.edge.confidence < point.threshold).length);
    expect(point.escalationRate).toBeGreaterThanOrEqual(previousRate);
    previousRate = point.escalationRate;
    // Relative tolerance 1e-12: the only difference allowed is floating-point summation order.
    const expected = report.edge.macs + point.escalationRate * report.origin.macs;
    expect(Math.abs(point.avgMacs - expected) / expected).toBeLessThan(1e-12);
  }
  const at = (t: number) => report.cascade.find((p) => p.threshold === t) as CascadePoint;
  expect(at(0)).toMatchObject({
    top1: report.edge.top1,
    top5: report.edge.top5,
    escalated: 0,
    avgMacs: report.edge.macs,
  });
  expect(at(ABOVE_ONE)).toMatchObject({
    top1: report.origin.top1,
    top5: report.origin.top5,
    escalationRate: 1,
  });
  expect(at(ABOVE_ONE).avgMacs).toBe(report.edge.macs + report.origin.macs);
  for (const s of report.images) {
    expect(new Set(s.edge.top5).size).toBe(s.edge.top5.length);
    expect(s.edge.confidence).toBeGreaterThan(0);
    expect(s.edge.confidence).toBeLessThanOrEqual(1);
  }
}

/** Thresholds between consecutive distinct edge confidences, so each one escalates one more group. */
function thresholdsBetween(confidences: readonly number[]): number[] {
  const sorted = [...new Set(confidences)].sort((a, b) => a - b);
  const mids = sorted.slice(1).map((c, i) => ((sorted[i] as number) + c) / 2);
  return [0, ...mids, ABOVE_ONE];
}

function floats(count: number, scale: number, phase: number): Uint8Array {
  const values = Float32Array.from({ length: count }, (_, i) => Math.sin(i * 1.7 + phase) * scale);
  return new Uint8Array(values.buffer);
}

/** Conv 3x3/2 → Relu → GlobalAveragePool → Flatten → Gemm: a real graph with known MACs. */
function smallConvClassifier(): Uint8Array {
  const f = DataType.FLOAT;
  const graph: OnnxGraph = {
    name: 'small-conv',
    nodes: [
      {
        opType: 'Conv',
        name: 'conv',
        inputs: ['input', 'w', 'b'],
        outputs: ['c'],
        attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      },
      { opType: 'Relu', name: 'relu', inputs: ['c'], outputs: ['r'] },
      { opType: 'GlobalAveragePool', name: 'pool', inputs: ['r'], outputs: ['p'] },
      { opType: 'Flatten', name: 'flat', inputs: ['p'], outputs: ['v'], attributes: { axis: 1 } },
      {
        opType: 'Gemm',
        name: 'fc',
        inputs: ['v', 'fw', 'fb'],
        outputs: ['logits'],
        attributes: { transB: 1 },
      },
    ],
    initializers: [
      { name: 'w', dims: [FILTERS, 3, 3, 3], dataType: f, data: floats(FILTERS * 27, 0.4, 0) },
      { name: 'b', dims: [FILTERS], dataType: f, data: floats(FILTERS, 0.2, 1) },
      { name: 'fw', dims: [CLASSES, FILTERS], dataType: f, data: floats(CLASSES * FILTERS, 1.5, 2) },
      { name: 'fb', dims: [CLASSES], dataType: f, data: floats(CLASSES, 0.1, 3) },
    ],
    inputs: [{ name: 'input', elemType: f, shape: ['batch', 3, SIDE, SIDE] }],
    outputs: [{ name: 'logits', elemType: f, shape: ['batch', CLASSES] }],
  };
  const model: OnnxModel = {
    graph,
    opset: OPSET,
    irVersion: IR_VERSION,
    producerName: 'eval-test',
    producerVersion: '0',
    metadata: {},
  };
  return concatChunks(encodeModel(model).graphChunks);
}

describe('eval on a small conv classifier, a tiny EfficientNet and generated images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-test-'));
  const data = join(dir, 'data');
  const catalogFile = join(dir, 'catalog.json');
  const exported = { edge: EDGE_MACS, origin: 0 };

  beforeAll(async () => {
    mkdirSync(join(data, 'images'), { recursive: true });
    const rows = ['file\tindex\twnid\tname'];
    for (let i = 0; i < 12; i++) {
      const width = 36 + 7 * i;
      const height = 30 + 5 * ((i * 3) % 7);
      const pixels = Buffer.alloc(width * height * 3);
      // Smooth colour fields that differ per image, so the networks see varied inputs.
      for (let p = 0; p < width * height; p++) {
        const x = p % width;
        const y = Math.floor(p / width);
        pixels[p * 3] = (x * (i + 3) * 5) % 256;
        pixels[p * 3 + 1] = (y * (11 - i) * 7) % 256;
        pixels[p * 3 + 2] = ((x + y) * 13 + i * 40) % 256;
      }
      const file = `images/img${i}.${i % 2 ? 'png' : 'jpg'}`;
      const image = sharp(pixels, { raw: { width, height, channels: 3 } });
      await (i % 2 ? image.png() : image.jpeg()).toFile(join(data, file));
      rows.push(`${file}\t${i % CLASSES}\tn0000000${i}\tclass ${i}`);
    }
    writeFileSync(join(data, 'labels.tsv'), `${rows.join('\n')}\n`);

    const weights = { kind: 'random', seed: 7 } as const;
    writeFileSync(join(dir, 'tiny-origin.onnx'), exportEfficientNet({ config: ORIGIN, weights }).model);
    exported.origin = exportEfficientNetChunks({ config: ORIGIN, weights }).macs;
    writeFileSync(join(dir, 'small-edge.onnx'), smallConvClassifier());
    const models = [
      { name: 'small-edge', side: SIDE, file: 'small-edge.onnx' },
      { name: 'tiny-origin', side: ORIGIN.resolution, file: 'tiny-origin.onnx' },
    ].map(({ name, side, file }) => ({
      name,
      file,
      preprocess: {
        cropSize: side,
        resizeShorterSide: side + 4,
        interpolation: 'bicubic',
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
      },
      output: 'logits',
      labelOffset: 0,
    }));
    writeFileSync(catalogFile, JSON.stringify({ models }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts MACs from the ONNX files: by hand for the conv model, as the factory counted for the EfficientNet', () => {
    const models = loadCatalog(catalogFile);
    for (const [name, expected] of [
      ['small-edge', exported.edge],
      ['tiny-origin', exported.origin],
    ] as const) {
      const counted = countMacs(parseOnnx(readFileSync(pickModel(models, name).path)));
      expect(expected).toBeGreaterThan(0);
      expect(counted.macs).toBe(expected);
    }
  });

  it('cascade numbers are internally consistent at every threshold', async () => {
    const models = loadCatalog(catalogFile);
    const options = {
      dataDir: data,
      edge: pickModel(models, 'small-edge'),
      origin: pickModel(models, 'tiny-origin'),
    };
    const probe = await evaluate({ ...options, thresholds: [0] });
    const thresholds = thresholdsBetween(probe.images.map((s) => s.edge.confidence));
    // Without spread-out confidences the sweep would test nothing.
    expect(thresholds.length).toBeGreaterThan(4);
    const report = await evaluate({ ...options, thresholds });
    expect(report.images).toHaveLength(12);
    expect(report.images.map((s) => s.edge)).toEqual(probe.images.map((s) => s.edge));
    expectConsistent(report);
    // Each midpoint threshold escalates strictly more images than the one before.
    const rates = report.cascade.map((p) => p.escalationRate);
    for (let i = 1; i < rates.length - 1; i++) expect(rates[i]).toBeGreaterThan(rates[i - 1] as number);
    expect(report.edge.macs).toBe(exported.edge);
    expect(report.origin.macs).toBe(exported.origin);

    const svg = renderPlot(report);
    expect(svg).toContain('average compute per image');
    expect(svg).toContain('accuracy (fraction of images)');
    expect(svg.match(/<circle /g)).toHaveLength(2 * thresholds.length);
  });

  it('the CLI writes JSON and SVG, and refuses bad input with exit code 2 and no files', async () => {
    const out = join(dir, 'out');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const base = [
        '--data',
        data,
        '--catalog',
        catalogFile,
        '--edge',
        'small-edge',
        '--origin',
        'tiny-origin',
      ];
      expect(await main([...base, '--thresholds', '0.5,0,2', '--json', '--out', out])).toBe(0);
      const printed = JSON.parse(String(stdout.mock.calls.at(-1)?.[0])) as EvalReport;
      expect(printed.cascade.map((p) => p.threshold)).toEqual([0, 0.5, 2]);
      expect(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'))).toEqual(printed);
      expect(readFileSync(join(out, 'eval.svg'), 'utf8')).toMatch(/^<svg /);

      const refused = join(dir, 'refused');
      for (const args of [
        [...base.slice(0, -1), 'no-such-model'],
        [...base, '--thresholds', '0.1,x'],
        [...base, '--limit', '0'],
        ['--data', join(dir, 'missing'), ...base.slice(2)],
        [...base, '--bogus'],
      ]) {
        stderr.mockClear();
        expect(await main([...args, '--out', refused])).toBe(2);
        expect(stderr.mock.calls).toHaveLength(1);
        expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^eval: /);
        expect(existsSync(refused)).toBe(false);
      }
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });

  it('reads model directories written by the model factory', async () => {
    const outDir = join(dir, 'models');
    // B0 from the shared test build (infra/models/cache.ts): the factory's real output, without a rebuild.
    await buildModelFiles({ config: ORIGIN, id: 'tiny', weights: 'random', seed: 1, outDir });
    symlinkSync((await testModels()).b0.dir, join(outDir, 'efficientnet-b0'), 'dir');
    const models = loadCatalog(outDir);
    expect(models.map((m) => m.name).sort()).toEqual(['efficientnet-b0', 'tiny']);
    const b0 = pickModel(models, 'efficientnet-b0');
    expect(b0).toMatchObject({
      output: 'logits',
      labelOffset: 0,
      path: join(outDir, 'efficientnet-b0', 'model.onnx'),
    });
    expect(b0.preprocess).toEqual(preprocessFor('b0', 'random'));
    // The graph count agrees with what the factory recorded in model.json.
    expect(countMacs(parseOnnx(readFileSync(b0.path))).macs).toBe(b0.publishedMacs);
    const tiny = pickModel(models, 'tiny');
    expect(tiny.preprocess).toMatchObject({ cropSize: 40, resizeShorterSide: 45, interpolation: 'bicubic' });
  });

  it('decodes with the EXIF orientation applied', async () => {
    const file = join(dir, 'rotated.jpg');
    const pixels = Buffer.alloc(40 * 20 * 3, 200);
    await sharp(pixels, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(file);
    const decoded = await decodeImage(file);
    expect([decoded.width, decoded.height]).toEqual([20, 40]);
  });
});

const SHARED = resolve(import.meta.dirname, '../../../shared');
const MOBILENETS = join(SHARED, 'models/imagenet-mobilenet/models.json');
const PHOTOS = join(SHARED, 'data/imagenet-val-100');
const haveShared = existsSync(MOBILENETS) && existsSync(join(PHOTOS, 'labels.tsv'));
if (!haveShared)
  console.log(`eval: skipping the MobileNet run: ${SHARED} (real weights and photos) is absent`);

describe.skipIf(!haveShared)('eval on the real-weight MobileNets and 10 photos', () => {
  it('is consistent, and the graph MAC counts agree with the published ones', async () => {
    const models = loadCatalog(MOBILENETS);
    const edge = pickModel(models, 'mobilenet_v1_0.5_160');
    const origin = pickModel(models, 'mobilenet_v2_1.0_224');
    // The catalog's prose recipe: shorter side to round(160 * 256 / 224) = 183, (p - 128) / 128.
    expect(edge.preprocess).toMatchObject({
      cropSize: 160,
      resizeShorterSide: 183,
      interpolation: 'bilinear',
    });
    expect(edge.preprocess.mean[0] * 255).toBeCloseTo(128, 9);
    expect(edge).toMatchObject({ output: 'probabilities', labelOffset: 1 });

    const report = await evaluate({
      dataDir: PHOTOS,
      edge,
      origin,
      thresholds: [0, 0.25, 0.5, 0.75, 1, ABOVE_ONE],
      limit: 10,
    });
    expect(report.images).toHaveLength(10);
    expectConsistent(report);
    // Published (TF-slim) 77M and 300M; the graph count may differ by rounding and bookkeeping, within 2%.
    expect(Math.abs(report.edge.macs / 77e6 - 1)).toBeLessThan(0.02);
    expect(Math.abs(report.origin.macs / 300e6 - 1)).toBeLessThan(0.02);
    // Real weights on real photos: the larger model is right more often than chance by a wide margin.
    expect(report.origin.top5).toBeGreaterThanOrEqual(0.5);
  });
});
