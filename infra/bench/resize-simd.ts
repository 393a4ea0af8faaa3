// The edge's resize and preprocess, JavaScript (shared/preprocess) against WebAssembly SIMD (edge/preprocess), in Node:
// the 722x542 RGB image a 1 MP photo decodes to at 5/8, resized and cropped for B0 and B1 (their timm
// specs), and the whole preprocess (resize + normalise). The two run alternately, so load hits both alike.
// Prints JSON: median ms per case and implementation, and the ratio.
//
//   npx tsx infra/bench/resize-simd.ts [--reps 40]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { simdPreprocessor } from '../../edge/preprocess/simd-preprocess.ts';
import { preprocessFor } from '../../shared/catalog/models.ts';
import {
  cropPlan,
  type PreprocessSpec,
  preprocess,
  type RgbImage,
  resizeWindow,
} from '../../shared/preprocess/index.ts';
import { compileResizeWasm } from '../wasm/resize-simd.ts';
import { noisyGradient } from './images.ts';

const { values: flags } = parseArgs({ options: { reps: { type: 'string', default: '40' } }, strict: true });
const REPS = Number(flags.reps);
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps must be a positive whole number');

const edge = simdPreprocessor(compileResizeWasm());

/** The resize preprocess() asks for. */
function resizeOnly(img: RgbImage, spec: PreprocessSpec, resize: typeof resizeWindow) {
  const { resized, window } = cropPlan(img, spec);
  return () => resize(img, resized.width, resized.height, window, spec.interpolation);
}

/** Medians of `a` and `b`, timed alternately. */
function alternate(a: () => unknown, b: () => unknown): [number, number] {
  for (let i = 0; i < 5; i++) {
    a();
    b();
  }
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < REPS; i++) {
    for (const [k, run] of [a, b].entries()) {
      const start = performance.now();
      run();
      times[k]?.push(performance.now() - start);
    }
  }
  const median = (t: number[]) => {
    t.sort((x, y) => x - y);
    return Math.round((t[Math.floor(t.length / 2)] as number) * 100) / 100;
  };
  return [median(times[0]), median(times[1])];
}

const photo = noisyGradient(722, 542);
const results: Record<string, { js_ms: number; simd_ms: number; ratio: number }> = {};
for (const variant of ['b0', 'b1'] as const) {
  const spec = preprocessFor(variant, 'timm');
  const cases = {
    [`resize 722x542 ${variant}`]: [
      resizeOnly(photo, spec, resizeWindow),
      resizeOnly(photo, spec, edge.resizeWindow),
    ],
    [`preprocess 722x542 ${variant}`]: [() => preprocess(photo, spec), () => edge.preprocess(photo, spec)],
  };
  for (const [name, [js, wasm]] of Object.entries(cases)) {
    const [jsMs, simdMs] = alternate(js as () => unknown, wasm as () => unknown);
    results[name] = { js_ms: jsMs, simd_ms: simdMs, ratio: Math.round((simdMs / jsMs) * 100) / 100 };
  }
}
console.log(
  JSON.stringify(
    { reps: REPS, results, loadAverage: loadavg().map((x) => Math.round(x * 10) / 10) },
    null,
    2,
  ),
);
