import { describe, expect, it } from 'vitest';
import { float32ToFloat16, fromFloat16Bits, toFloat16Bits } from '../../shared/onnx/float16.ts';
import { readSafetensors, SafetensorsError, writeSafetensors } from '../../shared/onnx/safetensors.ts';

function rawFile(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips F32 tensors and metadata-free headers', () => {
    const a = Float32Array.from([1, -2.5, 3.25, 0]);
    const b = Float32Array.from([7]);
    const file = writeSafetensors(
      { 'x.weight': { shape: [2, 2], data: a }, bias: { shape: [1], data: b } },
      { k: 'v' },
    );
    const t = readSafetensors(file);
    expect([...t.keys()]).toEqual(['x.weight', 'bias']);
    expect(t.get('x.weight')?.shape).toEqual([2, 2]);
    expect([...(t.get('x.weight')?.toFloat32() ?? [])]).toEqual([1, -2.5, 3.25, 0]);
    expect([...(t.get('bias')?.toFloat32() ?? [])]).toEqual([7]);
  });

  it('decodes F16 and BF16', () => {
    const f16 = float32ToFloat16(Float32Array.from([1, -0.5, 65504, 1e-7]));
    const bf16 = Uint16Array.from([0x3f80, 0xc000]); // 1.0, -2.0
    const data = new Uint8Array(12);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 8);
    const t = readSafetensors(
      rawFile(
        {
          h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
          b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
        },
        data,
      ),
    );
    const h = t.get('h')?.toFloat32() ?? new Float32Array();
    expect(h[0]).toBe(1);
    expect(h[1]).toBe(-0.5);
    expect(h[2]).toBe(65504);
    expect(h[3]).toBeCloseTo(1.19e-7, 8); // nearest subnormal half
    expect([...(t.get('b')?.toFloat32() ?? [])]).toEqual([1, -2]);
  });

  it('rejects truncated files, bad JSON and out-of-range offsets', () => {
    expect(() => readSafetensors(new Uint8Array(4))).toThrow(SafetensorsError);
    expect(() => readSafetensors(rawFile({ a: 1 } as object, new Uint8Array()).subarray(0, 10))).toThrow(
      /exceeds/,
    );
    const bad = rawFile({}, new Uint8Array());
    bad[8] = 0x7b;
    bad[9] = 0x7b;
    expect(() => readSafetensors(bad)).toThrow(/JSON/);
    expect(() =>
      readSafetensors(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }, new Uint8Array(8))),
    ).toThrow(/does not hold F32\[4\]/);
    expect(() =>
      readSafetensors(rawFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1))),
    ).toThrow(/unknown dtype/);
  });

  it('half conversion rounds to nearest even and handles overflow', () => {
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(fromFloat16Bits(toFloat16Bits(-3.140625))).toBe(-3.140625);
  });
});
