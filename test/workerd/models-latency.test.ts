// GET /v1/models in real workerd reports the measured latencies of the profiles deployed to R2 with the
// models: edge models from profiles/edge.json, origin models from profiles/origin.json.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { type ModelInfo, ModelsResponseSchema } from '../../shared/api/models.ts';

let worker: BootedWorker;
let dir: string;

const row = (variant: string, runtime: string, provider: string, resolution: number, p50: number | null) => ({
  variant,
  runtime,
  provider,
  resolution,
  p50_ms: p50,
  p95_ms: p50 === null ? null : p50 * 2,
  cold_ms: 1,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edge-profiles-'));
  const edge = join(dir, 'edge.json');
  const origin = join(dir, 'origin.json');
  await writeFile(
    edge,
    JSON.stringify({
      runtime: 'edge',
      provider: 'wasm',
      date: '2026-11-30T15:49:16.039Z',
      rows: [row('b0', 'edge', 'wasm', 224, 392.4), row('b1', 'edge', 'wasm', 240, null)],
    }),
  );
  await writeFile(
    origin,
    JSON.stringify({
      runtime: 'origin',
      provider: 'cpu',
      date: '2026-11-30T15:39:27.012Z',
      rows: [
        row('b0', 'origin', 'cpu', 224, 10.7),
        row('b5', 'origin', 'cpu', 456, 3830.1),
        // Measured at another resolution: not this catalog's B7, so not reported.
        row('b7', 'origin', 'cpu', 512, 100),
      ],
    }),
  );
  const models = await testModels();
  worker = await bootWorker({
    models: [models.b0, models.b1Split],
    profiles: [
      { runtime: 'edge', file: edge },
      { runtime: 'origin', file: origin },
    ],
    vars: { ALLOW_OPEN_API: '1' },
  });
});
afterAll(async () => {
  await worker?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /v1/models with deployed profiles', () => {
  it('reports each model measured on the runtime that serves it', async () => {
    const response = await worker.fetch('/v1/models');
    expect(response.status).toBe(200);
    const body = ModelsResponseSchema.parse(await response.json());
    const byId: Record<string, ModelInfo> = Object.fromEntries(body.models.map((m) => [m.id, m]));
    // B0 is in both profiles; it is served at the edge, so the edge's figures count.
    expect(byId['efficientnet-b0']?.latency).toEqual({
      runtime: 'edge',
      provider: 'wasm',
      p50_ms: 392.4,
      p95_ms: 784.8,
      measured_at: '2026-11-30T15:49:16.039Z',
    });
    expect(byId['efficientnet-b5']?.latency).toEqual({
      runtime: 'origin',
      provider: 'cpu',
      p50_ms: 3830.1,
      p95_ms: 7660.2,
      measured_at: '2026-11-30T15:39:27.012Z',
    });
    // A failed measurement, a resolution mismatch and an unprofiled model: no latency rather than a guess.
    for (const id of ['efficientnet-b1', 'efficientnet-b7', 'efficientnet-b2'])
      expect(byId[id], id).not.toHaveProperty('latency');
    // The rest of the listing is unchanged.
    expect(byId['efficientnet-b0']).toMatchObject({
      placement: 'edge',
      weights: 'untrained',
      resolution: 224,
    });
  });

  it('documents the field in the generated OpenAPI', async () => {
    const doc = (await (await worker.fetch('/openapi.json')).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const latency = JSON.stringify(doc.components.schemas.ModelInfo?.properties?.latency ?? null);
    for (const field of ['p50_ms', 'p95_ms', 'runtime', 'measured_at']) expect(latency).toContain(field);
  });
});
