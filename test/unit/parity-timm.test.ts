// Numerical parity with timm itself: two reduced EfficientNets (width 0.15, depth 0.5, 72 px, 10 classes,
// random but non-trivial BatchNorm statistics) built by timm's own generator and evaluated in float64
// (infra/golden/make_timm_fixture.py): `tf_efficientnet` with TF "SAME" padding and BatchNorm eps 1e-3, and
// plain `efficientnet` with symmetric padding and eps 1e-5. The factory reads each timm-named checkpoint
// with the padding and eps that `npm run models -- build --source tf|timm` would pick, and ONNX Runtime must
// reproduce timm's logits.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EfficientNetConfig, variantConfig } from '../../shared/efficientnet/config.ts';
import { exportEfficientNet } from '../../shared/efficientnet/export.ts';
import { detectNaming } from '../../shared/efficientnet/fold.ts';
import { readSafetensors } from '../../shared/onnx/safetensors.ts';

/** Max |ORT logit - timm logit|. ORT measures ~1e-6 here, as does timm's own float32 result. */
const TOLERANCE = 1e-4;

const FIXTURE = fileURLToPath(new URL('../fixtures/timm-golden/', import.meta.url));

const CASES = ['tf_efficientnet', 'efficientnet'] as const;
type CaseName = (typeof CASES)[number];

interface GoldenCase {
  /** The `--source` of `npm run models -- build` for this checkpoint family. */
  source: 'tf' | 'timm';
  timm_variant: string;
  pad_type: string;
  bn_eps: number;
  /** timm Conv2dSame modules (dynamic SAME padding) in the model. */
  same_padding_convs: number;
  weights: string;
  logits: string;
  argmax: number[];
}

interface GoldenConfig {
  width: number;
  depth: number;
  resolution: number;
  num_classes: number;
  input_shape: [number, number, number, number];
  logits_shape: [number, number];
  cases: Record<CaseName, GoldenCase>;
}

interface LoadedCase {
  golden: GoldenCase;
  checkpoint: Uint8Array;
  expected: Float32Array;
}

let golden: GoldenConfig;
let input: Float32Array;
const cases = new Map<CaseName, LoadedCase>();

function float32s(bytes: Buffer): Float32Array {
  // Copy into a fresh, aligned buffer; the fixture files are little-endian like every supported host.
  return new Float32Array(new Uint8Array(bytes).buffer);
}

function loaded(name: CaseName): LoadedCase {
  const c = cases.get(name);
  if (!c) throw new Error(`fixture case ${name} not loaded`);
  return c;
}

/** The published B0 settings for this source (padding, BatchNorm eps), on the fixture's reduced shape. */
function factoryConfig(c: GoldenCase, overrides: Partial<EfficientNetConfig> = {}): EfficientNetConfig {
  return {
    ...variantConfig('b0', { source: c.source, numClasses: golden.num_classes }),
    width: golden.width,
    depth: golden.depth,
    resolution: golden.resolution,
    ...overrides,
  };
}

async function logitsFor(checkpoint: Uint8Array, config: EfficientNetConfig): Promise<Float32Array> {
  const tensors = readSafetensors(checkpoint);
  const naming = detectNaming(tensors);
  expect(naming).toBe('timm');
  const { model } = exportEfficientNet({ config, weights: { kind: 'checkpoint', tensors, naming: 'timm' } });
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const feeds = { input: new ort.Tensor('float32', input, golden.input_shape) };
    const output = (await session.run(feeds)).logits;
    expect(output?.dims).toEqual(golden.logits_shape);
    return output?.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

function argmaxPerRow(logits: Float32Array): number[] {
  const [batch, classes] = golden.logits_shape;
  return Array.from({ length: batch }, (_, row) => {
    const values = Array.from(logits.subarray(row * classes, (row + 1) * classes));
    return values.indexOf(Math.max(...values));
  });
}

beforeAll(async () => {
  golden = JSON.parse(await readFile(join(FIXTURE, 'config.json'), 'utf8')) as GoldenConfig;
  input = float32s(await readFile(join(FIXTURE, 'input.bin')));
  for (const name of CASES) {
    const c = golden.cases[name];
    cases.set(name, {
      golden: c,
      checkpoint: new Uint8Array(await readFile(join(FIXTURE, c.weights))),
      expected: float32s(await readFile(join(FIXTURE, c.logits))),
    });
  }
});

describe.each(CASES)('timm parity: reduced %s with random BatchNorm statistics', (name) => {
  it('the fixture is the configuration it claims and its logits are not vacuous', () => {
    const { golden: c, expected } = loaded(name);
    const tf = name === 'tf_efficientnet';
    expect(c.pad_type).toBe(tf ? 'same' : '');
    // Every stride-2 conv pads dynamically in the tf model (stem and one per downsampling stage).
    expect(c.same_padding_convs).toBe(tf ? 5 : 0);
    // The project's source settings agree with what timm built.
    const config = factoryConfig(c);
    expect(config.padding).toBe(tf ? 'tf_same' : 'symmetric');
    expect(config.bnEps).toBe(c.bn_eps);

    const [batch, classes] = golden.logits_shape;
    expect(expected.length).toBe(batch * classes);
    expect(input.length).toBe(golden.input_shape.reduce((a, b) => a * b, 1));
    const maxLogit = Math.max(...expected.map(Math.abs));
    expect(maxLogit).toBeGreaterThan(1e-2);
    expect(maxLogit).toBeLessThan(100);
    // Different images must give different logits, or the network ignores its input.
    expect(
      maxAbsDiff(expected.subarray(0, classes), expected.subarray(classes, 2 * classes)),
    ).toBeGreaterThan(0.1);
    expect(argmaxPerRow(expected)).toEqual(c.argmax);
  });

  it(`ONNX Runtime reproduces timm's logits within ${TOLERANCE}, with the same top-1`, async () => {
    const { golden: c, checkpoint, expected } = loaded(name);
    const actual = await logitsFor(checkpoint, factoryConfig(c));
    const diff = maxAbsDiff(actual, expected);
    console.log(
      `timm parity (${name}): max |logit diff| = ${diff.toExponential(2)} (tolerance ${TOLERANCE})`,
    );
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
    expect(argmaxPerRow(actual)).toEqual(argmaxPerRow(expected));
  });

  it('detects the other padding rule (the comparison can fail)', async () => {
    const { golden: c, checkpoint, expected } = loaded(name);
    // Measured: ~0.75 either way (tf_efficientnet without SAME padding, efficientnet with it).
    const other = factoryConfig(c).padding === 'tf_same' ? 'symmetric' : 'tf_same';
    const diff = maxAbsDiff(await logitsFor(checkpoint, factoryConfig(c, { padding: other })), expected);
    console.log(`timm parity (${name}): with ${other} padding, max |logit diff| = ${diff.toExponential(2)}`);
    expect(diff).toBeGreaterThan(10 * TOLERANCE);
  });

  it('detects the other BatchNorm eps', async () => {
    const { golden: c, checkpoint, expected } = loaded(name);
    // Measured: ~0.35 for tf_efficientnet with 1e-5, ~0.16 for efficientnet with 1e-3.
    const other = c.bn_eps === 1e-3 ? 1e-5 : 1e-3;
    const diff = maxAbsDiff(await logitsFor(checkpoint, factoryConfig(c, { bnEps: other })), expected);
    console.log(
      `timm parity (${name}): with BatchNorm eps ${other}, max |logit diff| = ${diff.toExponential(2)}`,
    );
    expect(diff).toBeGreaterThan(10 * TOLERANCE);
  });
});
