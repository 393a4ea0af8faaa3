import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../gpu-origin/batching/batcher.ts';
import {
  DeadlineExceededError,
  QueueFullError,
  ShuttingDownError,
} from '../../gpu-origin/batching/errors.ts';

// The batcher on a real ONNX graph (built in memory: y = x * 2 per element, dynamic batch), so each
// output can be traced back to its own input through a real ONNX Runtime session.

const ELEMENTS = 4;

function doublingModel(): Uint8Array {
  // Minimal ONNX protobuf by hand: graph { node Mul(x, two) -> y; initializer two; input x [N,4]; output y [N,4] }.
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 127) {
      out.push((n & 127) | 128);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const field = (no: number, bytes: number[]) => [
    ...varint((no << 3) | 2),
    ...varint(bytes.length),
    ...bytes,
  ];
  const str = (no: number, s: string) => field(no, [...new TextEncoder().encode(s)]);
  const int = (no: number, n: number) => [...varint(no << 3), ...varint(n)];
  const dim = (d: number | string) => field(1, typeof d === 'number' ? int(1, d) : str(2, d));
  const valueInfo = (name: string) => [
    ...str(1, name),
    ...field(2, field(1, [...int(1, 1), ...field(2, [...dim('N'), ...dim(ELEMENTS)])])),
  ];
  const two = new Uint8Array(new Float32Array([2]).buffer);
  const tensor = [...int(2, 1), ...str(8, 'two'), ...field(9, [...two])]; // data_type FLOAT, raw_data
  const node = [...str(1, 'x'), ...str(1, 'two'), ...str(2, 'y'), ...str(4, 'Mul')];
  const graph = [
    ...field(1, node),
    ...str(2, 'g'),
    ...field(5, tensor),
    ...field(11, valueInfo('x')),
    ...field(12, valueInfo('y')),
  ];
  return new Uint8Array([...int(1, 8), ...field(7, graph), ...field(8, int(2, 17))]); // ir 8, opset 17
}

async function realRunner() {
  const session = await ort.InferenceSession.create(doublingModel());
  const sizes: number[] = [];
  const runBatch = async (batch: Float32Array, count: number) => {
    sizes.push(count);
    const out = await session.run({ x: new ort.Tensor('float32', batch, [count, ELEMENTS]) });
    return new Float32Array(out.y?.data as Float32Array);
  };
  return { runBatch, sizes };
}

const input = (v: number) => new Float32Array(ELEMENTS).fill(v);
const far = () => performance.now() + 60_000;

describe('Batcher', () => {
  it('joins requests inside the window into one run and returns each its own output', async () => {
    const { runBatch, sizes } = await realRunner();
    const batcher = new Batcher({ name: 'm', windowMs: 30, maxBatch: 8, maxQueue: 16, runBatch });
    const outputs = await Promise.all([1, 2, 3].map((v) => batcher.submit(input(v), far())));
    expect(outputs.map((o) => Array.from(o))).toEqual([
      [2, 2, 2, 2],
      [4, 4, 4, 4],
      [6, 6, 6, 6],
    ]);
    expect(sizes).toEqual([3]);
  });

  it('caps a run at maxBatch and starts the next as soon as it ends', async () => {
    const { runBatch, sizes } = await realRunner();
    const batcher = new Batcher({ name: 'm', windowMs: 1000, maxBatch: 2, maxQueue: 16, runBatch });
    const started = performance.now();
    const outputs = await Promise.all([1, 2, 3, 4].map((v) => batcher.submit(input(v), far())));
    expect(outputs.map((o) => o[0])).toEqual([2, 4, 6, 8]);
    expect(sizes).toEqual([2, 2]);
    // Full batches do not wait for the 1 s window.
    expect(performance.now() - started).toBeLessThan(900);
  });

  it('refuses beyond maxQueue with a retry hint', async () => {
    const { runBatch } = await realRunner();
    const batcher = new Batcher({ name: 'm', windowMs: 20, maxBatch: 8, maxQueue: 2, runBatch });
    const accepted = [batcher.submit(input(1), far()), batcher.submit(input(2), far())];
    const refused = batcher.submit(input(3), far());
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({ retryAfterS: expect.any(Number) });
    expect((await Promise.all(accepted)).length).toBe(2);
  });

  it('counts reserved places (inputs still being prepared) against maxQueue, and frees released ones', async () => {
    const { runBatch } = await realRunner();
    const batcher = new Batcher({ name: 'm', windowMs: 20, maxBatch: 8, maxQueue: 3, runBatch });
    const two = batcher.reserve(2, far());
    expect(() => batcher.reserve(2, far())).toThrow(QueueFullError);
    const one = batcher.reserve(1, far());
    expect(() => batcher.reserve(1, far())).toThrow(QueueFullError);
    // Preparing one input failed: its place is given back.
    one.release();
    one.release();
    const again = batcher.reserve(1, far());
    const outputs = await Promise.all([two.submit(input(1)), two.submit(input(2)), again.submit(input(3))]);
    expect(outputs.map((o) => o[0])).toEqual([2, 4, 6]);
    await expect(two.submit(input(4))).rejects.toThrow('no place left');
    expect(() => batcher.reserve(1, performance.now() - 1)).toThrow(DeadlineExceededError);
    expect(batcher.reserve(3, far())).toBeDefined();
  });

  it('rejects expired requests without running them, also while they wait', async () => {
    const { runBatch, sizes } = await realRunner();
    const batcher = new Batcher({ name: 'm', windowMs: 200, maxBatch: 8, maxQueue: 8, runBatch });
    await expect(batcher.submit(input(1), performance.now() - 1)).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    const waiting = batcher.submit(input(2), performance.now() + 20);
    const patient = batcher.submit(input(3), far());
    await expect(waiting).rejects.toBeInstanceOf(DeadlineExceededError);
    expect((await patient)[0]).toBe(6);
    expect(sizes).toEqual([1]);
  });

  it('drains queued work, then refuses new work', async () => {
    const { runBatch } = await realRunner();
    const batcher = new Batcher({ name: 'm', windowMs: 5000, maxBatch: 8, maxQueue: 8, runBatch });
    const queued = batcher.submit(input(5), far());
    await batcher.drain();
    expect((await queued)[0]).toBe(10);
    await expect(batcher.submit(input(1), far())).rejects.toBeInstanceOf(ShuttingDownError);
  });
});
