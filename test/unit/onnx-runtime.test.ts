// Built graphs run in onnxruntime-node and onnxruntime-web (WASM, on Node) and agree with an independent
// plain-TypeScript forward pass over the unfolded checkpoint.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web/wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EfficientNetConfig } from '../../shared/efficientnet/config.ts';
import { variantConfig } from '../../shared/efficientnet/config.ts';
import { exportEfficientNet } from '../../shared/efficientnet/export.ts';
import {
  type Activation,
  add,
  affine,
  conv2d,
  globalPool,
  scaleChannels,
} from '../../shared/efficientnet/forward.ts';
import { randomCheckpoint } from '../../shared/efficientnet/random.ts';
import { buildSpec, type ConvSpec, type NetworkSpec } from '../../shared/efficientnet/spec.ts';
import type { TensorMap } from '../../shared/efficientnet/tensors.ts';
import { readSafetensors, writeSafetensors } from '../../shared/onnx/safetensors.ts';

const TINY: EfficientNetConfig = {
  width: 0.25,
  depth: 0.34,
  resolution: 64,
  numClasses: 10,
  bnEps: 1e-5,
  padding: 'symmetric',
};

function noise(count: number, seed: number, halfWidth = Math.sqrt(3)): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 * halfWidth - halfWidth; // uniform, unit variance by default
  }
  return out;
}

async function runNode(model: Uint8Array | string, x: Float32Array, batch: number, r: number) {
  const session =
    typeof model === 'string'
      ? await ortNode.InferenceSession.create(model)
      : await ortNode.InferenceSession.create(model);
  const out = await session.run({ input: new ortNode.Tensor('float32', x, [batch, 3, r, r]) });
  await session.release();
  return out.logits?.data as Float32Array;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/** Independent reference: raw conv + BatchNorm with the checkpoint's statistics (no folding). */
function referenceForward(spec: NetworkSpec, t: TensorMap, x: Activation): Float32Array {
  const eps = spec.config.bnEps;
  const get = (name: string) => t.get(name)?.toFloat32().slice() ?? new Float32Array();
  const conv = (c: ConvSpec, input: Activation): Activation => {
    const y = conv2d(spec.config, input, c, get(`${c.module.timm}.weight`));
    const silu = c.activation === 'silu';
    if (!c.bn) return affine(y, new Float32Array(c.outChannels).fill(1), get(`${c.module.timm}.bias`), silu);
    const [g, b, m, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) =>
      get(`${c.bn?.timm}.${k}`),
    );
    const scale = Float64Array.from(g as Float32Array, (gi, i) => gi / Math.sqrt((v?.[i] ?? 0) + eps));
    const shift = Float64Array.from(b as Float32Array, (bi, i) => bi - (m?.[i] ?? 0) * (scale[i] ?? 0));
    return affine(y, scale, shift, silu);
  };
  let h = conv(spec.stem, x);
  for (const b of spec.blocks) {
    let y = b.expand ? conv(b.expand, h) : h;
    y = conv(b.depthwise, y);
    const gate = conv(b.seExpand, conv(b.seReduce, globalPool(y)));
    for (let i = 0; i < gate.data.length; i++) gate.data[i] = 1 / (1 + Math.exp(-(gate.data[i] ?? 0)));
    y = conv(b.project, scaleChannels(y, gate));
    h = b.residual ? add(h, y) : y;
  }
  const pooled = globalPool(conv(spec.head, h));
  const w = get('classifier.weight');
  const bias = get('classifier.bias');
  const { inFeatures: k, outFeatures: n } = spec.classifier;
  const out = new Float32Array(x.n * n);
  for (let s = 0; s < x.n; s++) {
    for (let j = 0; j < n; j++) {
      let acc = bias[j] ?? 0;
      for (let i = 0; i < k; i++) acc += (w[j * k + i] ?? 0) * (pooled.data[s * k + i] ?? 0);
      out[s * n + j] = acc;
    }
  }
  return out;
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'onnx-runtime-'));
  ortWeb.env.wasm.numThreads = 1;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['symmetric', TINY],
  ['tf_same', { ...TINY, resolution: 70, padding: 'tf_same' as const, bnEps: 1e-3 }],
])('tiny config, %s padding', (_name, config) => {
  const spec = buildSpec(config);
  const r = config.resolution;
  const tensors = randomCheckpoint(spec, 11);
  const x = noise(2 * 3 * r * r, 5);
  const reference = referenceForward(spec, tensors, { n: 2, c: 3, size: r, data: x.slice() });
  const { model } = exportEfficientNet({ config, weights: { kind: 'random', seed: 11 } });

  it('onnxruntime-node matches the unfolded reference (max abs diff <= 1e-4 x max |logit|)', async () => {
    const logits = await runNode(model, x, 2, r);
    expect(maxAbs(reference)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(logits, reference)).toBeLessThanOrEqual(1e-4 * maxAbs(reference));
  });

  it('onnxruntime-web (wasm) matches onnxruntime-node (<= 1e-4 x max |logit|)', async () => {
    const session = await ortWeb.InferenceSession.create(model);
    const out = await session.run({ input: new ortWeb.Tensor('float32', x, [2, 3, r, r]) });
    const web = out.logits?.data as Float32Array;
    await session.release();
    const node = await runNode(model, x, 2, r);
    expect(maxAbsDiff(web, node)).toBeLessThanOrEqual(1e-4 * maxAbs(node));
  });
});

describe('weights, storage options and batching (tiny config)', () => {
  const r = TINY.resolution;
  const x = noise(3 * 3 * r * r, 9);
  const plain = exportEfficientNet({ config: TINY, weights: { kind: 'random', seed: 3 } }).model;

  it('a torchvision-named safetensors checkpoint gives bit-identical logits', async () => {
    const ckpt = randomCheckpoint(buildSpec(TINY), 3, 'torchvision');
    const record: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
    for (const [k, v] of ckpt) record[k] = { shape: v.shape, data: v.toFloat32() };
    expect(Object.keys(record)).toContain('features.1.0.block.1.fc1.weight');
    const tensors = readSafetensors(writeSafetensors(record));
    const { model } = exportEfficientNet({
      config: TINY,
      weights: { kind: 'checkpoint', tensors, naming: 'torchvision' },
    });
    const fromCheckpoint = await runNode(model, x, 3, r);
    expect(maxAbsDiff(fromCheckpoint, await runNode(plain, x, 3, r))).toBe(0);
  });

  it('a missing or misshapen tensor names the tensor and both shapes', () => {
    const ckpt = new Map(randomCheckpoint(buildSpec(TINY), 3, 'timm'));
    ckpt.delete('blocks.1.0.bn2.running_var');
    expect(() =>
      exportEfficientNet({ config: TINY, weights: { kind: 'checkpoint', tensors: ckpt, naming: 'timm' } }),
    ).toThrow('checkpoint is missing tensor blocks.1.0.bn2.running_var (expected shape [48])');
    ckpt.set('conv_stem.weight', { shape: [8, 3, 5, 5], toFloat32: () => new Float32Array(600) });
    expect(() =>
      exportEfficientNet({ config: TINY, weights: { kind: 'checkpoint', tensors: ckpt, naming: 'timm' } }),
    ).toThrow('tensor conv_stem.weight has shape [8, 3, 5, 5], expected [8, 3, 3, 3]');
  });

  it('batch of 3 equals three single runs (<= 1e-5 x max |logit|)', async () => {
    const batched = await runNode(plain, x, 3, r);
    for (let b = 0; b < 3; b++) {
      const single = await runNode(plain, x.slice(b * 3 * r * r, (b + 1) * 3 * r * r), 1, r);
      const row = batched.subarray(b * 10, (b + 1) * 10);
      expect(maxAbsDiff(row, single)).toBeLessThanOrEqual(1e-5 * maxAbs(single));
    }
  });

  it('external data (split) loads by path in node and by externalData in web, same logits (<= 1e-5 rel)', async () => {
    const { model, data } = exportEfficientNet({
      config: TINY,
      weights: { kind: 'random', seed: 3 },
      externalDataLocation: 'model.onnx.data',
    });
    expect(data?.length).toBeGreaterThan(model.length);
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'model.onnx.data'), data ?? new Uint8Array());
    const expected = await runNode(plain, x, 3, r);
    const fromFile = await runNode(join(dir, 'model.onnx'), x, 3, r);
    expect(maxAbsDiff(fromFile, expected)).toBeLessThanOrEqual(1e-5 * maxAbs(expected));
    const session = await ortWeb.InferenceSession.create(model, {
      externalData: [{ path: 'model.onnx.data', data: data ?? new Uint8Array() }],
    });
    const web = (await session.run({ input: new ortWeb.Tensor('float32', x, [3, 3, r, r]) })).logits
      ?.data as Float32Array;
    await session.release();
    expect(maxAbsDiff(web, expected)).toBeLessThanOrEqual(1e-4 * maxAbs(expected));
  });

  it('fp16 weights are half the size and agree within 2% of max |logit|', async () => {
    const { model } = exportEfficientNet({ config: TINY, weights: { kind: 'random', seed: 3 }, fp16: true });
    expect(model.length).toBeLessThan(0.6 * plain.length);
    const expected = await runNode(plain, x, 3, r);
    const half = await runNode(model, x, 3, r);
    expect(maxAbsDiff(half, expected)).toBeLessThanOrEqual(0.02 * maxAbs(expected));
  });
});

describe('random-weight B0 has sane logits', () => {
  it('logits std across classes is in [0.1, 10] for unit-variance noise, per image', async () => {
    const config = variantConfig('b0');
    const { model } = exportEfficientNet({ config, weights: { kind: 'random', seed: 0 } });
    expect(new TextDecoder().decode(model.subarray(model.length - 400))).toContain('untrained');
    const r = config.resolution;
    const logits = await runNode(model, noise(2 * 3 * r * r, 21), 2, r);
    for (let b = 0; b < 2; b++) {
      const row = logits.subarray(b * 1000, (b + 1) * 1000);
      const mean = row.reduce((a, v) => a + v, 0) / 1000;
      const std = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / 1000);
      expect(std).toBeGreaterThan(0.1);
      expect(std).toBeLessThan(10);
    }
  });
});
