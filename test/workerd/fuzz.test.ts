// Fuzzing in CI: a seeded subset of `npm run fuzz` through the real edge in workerd, then the reproducer
// generators for the defect classes it targets (docs/fuzzing.md). One workerd serves the whole file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Base, makeBases } from '../../infra/fuzz/bases.ts';
import { runCampaign, send } from '../../infra/fuzz/campaign.ts';
import { type FuzzEdge, memory, startEdge } from '../../infra/fuzz/edge.ts';
import { headerReproducers, truncatedPng } from '../../infra/fuzz/reproducers.ts';
import { narrowEdgeModelsDir } from '../../infra/models/cache.ts';

const SEED = 9;
const CASES = 300;
// Generous for a loaded machine: a legitimate request here takes well under 2 s.
const TIMEOUT_MS = 30_000;
// A 128 MB isolate holds ORT's 48-72 MiB heap and the model; one request adding more than 64 MiB can kill
// it in production (local workerd does not enforce the limit). The largest legitimate decode here, at the
// 4 MP limit, adds ~38 MiB.
const MAX_PEAK_ADDED_MIB = 64;
// Over 300 requests, after a warm-up that loaded the model and every codec: V8 and allocator noise stays
// under ~12 MiB; a leak of ~100 KiB per failed decode would pass 32 MiB.
const MAX_RSS_GROWTH_MIB = 32;
// 20 truncated ~1 MP PNGs: each leaked ~4 MiB when the codec kept its buffers after a failed decode.
const MAX_TRUNCATED_PNG_GROWTH_MIB = 16;

const bases = await makeBases();
let edge: FuzzEdge;
let modelsDir: string;

beforeAll(async () => {
  // The answers of 200 each run the model; a narrow B0 (same operators, same input) keeps the campaign
  // about the image path, which is what it fuzzes, instead of B0's compute.
  modelsDir = await narrowEdgeModelsDir();
  edge = await startEdge({ modelsDir });
});

afterAll(async () => {
  await edge?.dispose();
});

const raw = (bytes: Uint8Array, contentType: string) => ({ bytes, contentType, form: 'raw' as const });

describe('fuzzing the edge image path', () => {
  it(`${CASES} seeded mutations get only 200s or 4xx envelopes, without hangs, crashes or memory spikes`, async () => {
    const run = await runCampaign(
      { cases: CASES, seed: SEED, modelsDir, timeoutMs: TIMEOUT_MS, spikeMiB: MAX_PEAK_ADDED_MIB },
      edge,
    );
    edge = run.edge;
    const r = run.report;
    expect(r.cases).toBe(CASES);
    // Both outcomes occur, so the mutations neither destroy every image nor leave them all valid.
    expect(r.ok_200).toBeGreaterThan(30);
    expect(r.rejected_4xx).toBeGreaterThan(100);
    // Each failure names its case: `npm run fuzz -- --seed 9 --case <case>` replays it.
    expect(r.failures, JSON.stringify(r.failures, null, 1)).toEqual([]);
    expect({ errors: r.errors_5xx, crashes: r.crashes, hangs: r.hangs, spikes: r.memory_spikes }).toEqual({
      errors: 0,
      crashes: 0,
      hangs: 0,
      spikes: 0,
    });
    expect(r.rss_growth_mib).toBeLessThanOrEqual(MAX_RSS_GROWTH_MIB);
    expect(r.final_valid_request).toBe('ok_200');
    // ~70 s on 2 vCPUs at a load average of 20; the default 120 s would make a busier machine fail it.
  }, 300_000);
});

describe('reproducers of the defect classes', () => {
  it('truncated 1 MP PNGs are refused without leaking, and a valid image is served afterwards', async () => {
    const png = bases.find((b) => b.name === 'png-palette') as Base;
    for (let i = 0; i < 3; i++) await send(edge, raw(png.bytes, png.type), TIMEOUT_MS);
    const truncated = await truncatedPng();
    // The first one may grow the codec's heap to a 1 MP image once; that is not a leak.
    await send(edge, raw(truncated, 'image/png'), TIMEOUT_MS);
    const before = memory(edge.pid());
    for (let i = 0; i < 20; i++) {
      const result = await send(edge, raw(truncated, 'image/png'), TIMEOUT_MS);
      expect(result.verdict, result.answer).toBe('rejected_4xx');
    }
    const after = memory(edge.pid());
    expect(before && after, 'workerd memory unreadable').toBeTruthy();
    const growth = (after?.rssMiB ?? 0) - (before?.rssMiB ?? 0);
    expect(growth, `RSS grew ${growth.toFixed(1)} MiB over 20 truncated PNGs`).toBeLessThanOrEqual(
      MAX_TRUNCATED_PNG_GROWTH_MIB,
    );
    expect((await send(edge, raw(png.bytes, png.type), TIMEOUT_MS)).verdict).toBe('ok_200');
  });

  it.each(headerReproducers(bases).map((r) => [r.name, r] as const))(
    '%s: an envelope answer decided before any large allocation',
    async (_name, reproducer) => {
      const result = await send(edge, raw(reproducer.bytes, reproducer.contentType), TIMEOUT_MS);
      expect(['ok_200', 'rejected_4xx'], `${reproducer.defect}: ${result.answer}`).toContain(result.verdict);
      expect(result.peakAddedMiB, 'workerd peak unreadable: /proc/PID/clear_refs refused?').toBeDefined();
      expect(
        result.peakAddedMiB,
        `${reproducer.defect}: workerd peak grew ${result.peakAddedMiB?.toFixed(0)} MiB (${result.answer})`,
      ).toBeLessThanOrEqual(MAX_PEAK_ADDED_MIB);
      expect(edge.alive()).toBe(true);
    },
  );
});
