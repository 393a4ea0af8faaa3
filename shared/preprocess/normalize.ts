// ToTensor + Normalize: byte / 255, then (x - mean) / std, each step in float32 like torch.
// A 256-entry table per channel turns the per-pixel work into a lookup.

export function normalizationTables(
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
): [Float32Array, Float32Array, Float32Array] {
  const f = Math.fround;
  const table = (c: 0 | 1 | 2) => {
    const t = new Float32Array(256);
    const m = f(mean[c]);
    const s = f(std[c]);
    for (let v = 0; v < 256; v++) t[v] = f(f(f(v / 255) - m) / s);
    return t;
  };
  return [table(0), table(1), table(2)];
}
