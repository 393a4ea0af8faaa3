import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { cutModel } from '../../infra/bench/layers-graph.ts';
import { variantConfig } from '../../shared/efficientnet/config.ts';
import { countModel, prepareWeights } from '../../shared/efficientnet/export.ts';
import { buildGraph, INPUT_NAME } from '../../shared/efficientnet/graph.ts';
import { prng } from '../../shared/efficientnet/random.ts';
import { cutGraph, withExtraOutputs } from '../../shared/onnx/cut.ts';
import { encodeModel, type OnnxGraph } from '../../shared/onnx/model.ts';
import { concatChunks } from '../../shared/onnx/protobuf.ts';

// A tiny factory network: narrow, shallow, 32 px, so it builds and runs in well under a second.
const config = {
  width: 0.25,
  depth: 0.2,
  resolution: 32,
  numClasses: 10,
  bnEps: 1e-5,
  padding: 'symmetric',
} as const;
const prepared = prepareWeights(config, { kind: 'random', seed: 3 });
const graph = buildGraph(prepared.spec, prepared.folded);

const bytes = (g: OnnxGraph) =>
  concatChunks(
    encodeModel({ graph: g, opset: 17, irVersion: 8, producerName: 't', producerVersion: '0', metadata: {} })
      .graphChunks,
  );

const next = prng(99);
const input = new ort.Tensor(
  'float32',
  Float32Array.from({ length: 3 * 32 * 32 }, () => 2 * next() - 1),
  [1, 3, 32, 32],
);

describe('cutGraph', () => {
  const boundary = graph.nodes.filter((n) => n.name.endsWith('/residual') || n.name.endsWith('conv_pwl'));
  const tensor = boundary[Math.floor(boundary.length / 2)]?.outputs[0] ?? '';

  it('gives a prefix whose output equals the full graph’s intermediate tensor', async () => {
    expect(tensor).not.toBe('');
    const prefix = cutGraph(graph, tensor);
    expect(prefix.nodes.length).toBeLessThan(graph.nodes.length);
    expect(prefix.initializers.length).toBeLessThan(graph.initializers.length);
    const full = await ort.InferenceSession.create(bytes(withExtraOutputs(graph, [tensor])));
    const cut = await ort.InferenceSession.create(bytes(prefix));
    const want = (await full.run({ [INPUT_NAME]: input }))[tensor];
    const got = (await cut.run({ [INPUT_NAME]: input }))[tensor];
    expect(got?.dims).toEqual(want?.dims);
    expect(got?.dims.slice(1)).toEqual(prefix.outputs[0]?.shape.slice(1));
    const a = got?.data as Float32Array;
    const b = want?.data as Float32Array;
    expect(a.length).toBeGreaterThan(0);
    // Same kernels on the same nodes: tolerance 1e-6 absolute.
    for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] ?? 0) - (b[i] ?? 0))).toBeLessThan(1e-6);
  });

  it('refuses a tensor no node produces', () => {
    expect(() => cutGraph(graph, 'no-such-tensor')).toThrow(/no node/);
  });
});

describe('stage cut of B0', () => {
  it('splits into stem, seven stages and head whose MACs add up to the whole model', () => {
    const b0 = cutModel('b0', false);
    expect(b0.stages.map((s) => s.name)).toEqual([
      'stem',
      ...Array.from({ length: 7 }, (_, i) => `blocks.${i}`),
      'head',
    ]);
    const total = b0.stages.reduce((a, s) => a + s.macs, 0);
    expect(total).toBe(countModel(variantConfig('b0')).macs);
    // B0 repeats per stage: 1, 2, 2, 3, 3, 4, 1 blocks, one depthwise conv each.
    expect(b0.stages.slice(1, -1).map((s) => s.ops['Conv:depthwise'])).toEqual([1, 2, 2, 3, 3, 4, 1]);
  });
});
