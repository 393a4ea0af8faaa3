// Preprocessing micro-benchmark in Node (the same JavaScript runs in workerd): B0's resize 256 / crop 224
// bicubic on the RGB images the edge hands over for a 1 MP photo (1155x866, not reduced) and a 12 MP one
// (decoded at 1/4 to 1008x756), and B1's 272 / 240 bilinear. Prints JSON: median ms per size.
//
//   npx tsx infra/bench/decode-preprocess.ts [--reps 40]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type PreprocessSpec, preprocess } from '../../shared/preprocess/index.ts';
import { noisyGradient } from './images.ts';

const { values: flags } = parseArgs({ options: { reps: { type: 'string', default: '40' } }, strict: true });
const REPS = Number(flags.reps);
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps must be a positive whole number');

const B0: PreprocessSpec = {
  cropSize: 224,
  resizeShorterSide: 256,
  interpolation: 'bicubic',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};
const B1_BILINEAR: PreprocessSpec = {
  ...B0,
  cropSize: 240,
  resizeShorterSide: 272,
  interpolation: 'bilinear',
};

function medianMs(run: () => unknown, reps: number): number {
  for (let i = 0; i < 5; i++) run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Math.round((times[Math.floor(reps / 2)] as number) * 100) / 100;
}

const cases = {
  '1MP 1155x866 b0': [noisyGradient(1155, 866), B0],
  '12MP at 1/4 1008x756 b0': [noisyGradient(1008, 756), B0],
  '1MP 1155x866 b1 bilinear': [noisyGradient(1155, 866), B1_BILINEAR],
} as const;
const medianMsPerCase: Record<string, number> = {};
for (const [name, [img, spec]] of Object.entries(cases))
  medianMsPerCase[name] = medianMs(() => preprocess(img, spec), REPS);
console.log(
  JSON.stringify(
    { reps: REPS, medianMs: medianMsPerCase, loadAverage: loadavg().map((x) => Math.round(x * 10) / 10) },
    null,
    2,
  ),
);
