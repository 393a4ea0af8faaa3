// The origin's run-time use of a profile: latencies in /v2 metadata, max batch from the measured best
// batch unless ORIGIN_MAX_BATCH says otherwise, timing at warm-up for models the profile lacks.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../gpu-origin/config/config.ts';
import type { Classifier } from '../../gpu-origin/inference/classifier.ts';
import { maxBatchFor, percentile, timeWarmRuns } from '../../gpu-origin/models/latency.ts';
import { startOrigin } from '../../gpu-origin/server.ts';
import { buildModelsDir, classify, metricValue, solidImage, startTestOrigin } from './helpers.ts';

let models: Awaited<ReturnType<typeof buildModelsDir>>;
let dir: string;

function profile(rows: object[], runtime = 'origin') {
  return { runtime, provider: 'cpu', date: '2026-11-30T15:39:27.012Z', machine: {}, notes: [], rows };
}
const b0Row = (over: object = {}) => ({
  variant: 'b0',
  runtime: 'origin',
  provider: 'cpu',
  resolution: 224,
  p50_ms: 12.5,
  p95_ms: 17.25,
  best_batch: 2,
  ...over,
});
async function profileFile(name: string, body: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
}

beforeAll(async () => {
  models = await buildModelsDir(['b0']);
  dir = await mkdtemp(join(tmpdir(), 'origin-profile-'));
});
afterAll(async () => {
  await models?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ORIGIN_PROFILE setting', () => {
  const base = { ORIGIN_ALLOW_UNSIGNED: 'true' };

  it('reads and validates the file at start', async () => {
    const path = await profileFile('ok.json', profile([b0Row()]));
    const config = parseConfig({ ...base, ORIGIN_PROFILE: path });
    expect(config.profile?.rows[0]).toMatchObject({ variant: 'b0', p50_ms: 12.5, best_batch: 2 });
    expect(config.maxBatch).toBeNull();
    expect(parseConfig({ ...base, ORIGIN_PROFILE: path, ORIGIN_MAX_BATCH: '3' }).maxBatch).toBe(3);
  });

  it('refuses a missing, malformed or edge profile with one line naming the setting', async () => {
    const cases: [string, RegExp][] = [
      [join(dir, 'absent.json'), /ORIGIN_PROFILE: cannot read .*absent\.json/],
      [await profileFile('bad.json', '{"runtime":'), /ORIGIN_PROFILE: cannot read/],
      [await profileFile('shape.json', { rows: 'x' }), /ORIGIN_PROFILE: .* is not a profile/],
      [await profileFile('edge.json', profile([], 'edge')), /profiles the edge, not the origin/],
    ];
    for (const [path, message] of cases) {
      expect(() => parseConfig({ ...base, ORIGIN_PROFILE: path })).toThrow(ConfigError);
      expect(() => parseConfig({ ...base, ORIGIN_PROFILE: path })).toThrow(message);
    }
  });
});

describe('latency helpers', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
    expect(percentile([7], 95)).toBe(7);
  });

  it('max batch: setting, then profile, then default', () => {
    expect(maxBatchFor(3, { best_batch: 2 })).toEqual({ value: 3, source: 'setting' });
    expect(maxBatchFor(null, { best_batch: 2 })).toEqual({ value: 2, source: 'profile' });
    expect(maxBatchFor(null, undefined)).toEqual({ value: 8, source: 'default' });
  });

  it('times warm runs after the first and stops at the budget', async () => {
    let clock = 0;
    let runs = 0;
    const classifier = {
      provider: 'cpu',
      inputSize: 2,
      run: async () => {
        runs++;
        clock += runs * 10; // 10, 20, 30, ... ms
        return new Float32Array(1);
      },
    } as unknown as Classifier;
    const latency = await timeWarmRuns(classifier, { runs: 100, budgetMs: 95 }, () => clock);
    // Untimed first run (10 ms), then 20, 30, 40 (90 ms spent), then 50: past the budget.
    expect(runs).toBe(5);
    expect(latency).toMatchObject({ source: 'warmup', runs: 4, p50_ms: 30, p95_ms: 50, provider: 'cpu' });
    runs = 0;
    expect(await timeWarmRuns(classifier, { runs: 0, budgetMs: 1000 })).toBeNull();
    expect(runs).toBe(1);
  });
});

describe('origin metadata and batching', () => {
  const metadata = async (env: Record<string, string>) => {
    const origin = await startTestOrigin(models.dir, env);
    try {
      const response = await fetch(`${origin.url}/v2/models/efficientnet-b0`);
      expect(response.status).toBe(200);
      return { body: (await response.json()) as { parameters: Record<string, unknown> }, logs: origin.logs };
    } finally {
      await origin.close();
    }
  };

  it('reports the profile latency and takes its best batch', async () => {
    const path = await profileFile('b0.json', profile([b0Row()]));
    const { body, logs } = await metadata({ ORIGIN_PROFILE: path });
    expect(body.parameters.latency).toEqual({
      provider: 'cpu',
      p50_ms: 12.5,
      p95_ms: 17.25,
      source: 'profile',
      measured_at: '2026-11-30T15:39:27.012Z',
    });
    expect(body.parameters.max_batch).toEqual({ value: 2, source: 'profile' });
    expect(logs.join('\n')).toMatch(/efficientnet-b0: .*p50 12\.5 ms.*max batch 2 \(profile\)/);
  });

  it('ORIGIN_MAX_BATCH overrides the profile', async () => {
    const path = await profileFile('b0-override.json', profile([b0Row()]));
    const { body } = await metadata({ ORIGIN_PROFILE: path, ORIGIN_MAX_BATCH: '3' });
    expect(body.parameters.max_batch).toEqual({ value: 3, source: 'setting' });
    expect(body.parameters.latency).toMatchObject({ source: 'profile' });
  });

  it('times a model the profile lacks (another provider) at warm-up', async () => {
    const path = await profileFile('cuda.json', profile([b0Row({ provider: 'cuda' })]));
    const { body } = await metadata({ ORIGIN_PROFILE: path, ORIGIN_WARMUP_RUNS: '3' });
    const latency = body.parameters.latency as Record<string, number | string>;
    expect(latency).toMatchObject({ provider: 'cpu', source: 'warmup', runs: 3 });
    // A real B0 run on this CPU: more than 0.1 ms, far less than a minute; p95 >= p50.
    expect(latency.p50_ms).toBeGreaterThan(0.1);
    expect(latency.p95_ms).toBeGreaterThanOrEqual(latency.p50_ms as number);
    expect(latency.p95_ms).toBeLessThan(60_000);
    expect(body.parameters.max_batch).toEqual({ value: 8, source: 'default' });
  });

  it('without a profile or warm-up runs, latency is null', async () => {
    const { body } = await metadata({ ORIGIN_WARMUP_RUNS: '0' });
    expect(body.parameters.latency).toBeNull();
  });

  it('refuses a profile measured at another resolution', async () => {
    const path = await profileFile('res.json', profile([b0Row({ resolution: 256 })]));
    const config = parseConfig({
      ORIGIN_PORT: '0',
      ORIGIN_HOST: '127.0.0.1',
      ORIGIN_MODELS_DIR: models.dir,
      ORIGIN_EXECUTION_PROVIDERS: 'cpu',
      ORIGIN_ALLOW_UNSIGNED: 'true',
      ORIGIN_PROFILE: path,
    });
    const origin = await startOrigin(config, { log: () => {} });
    try {
      await expect(origin.loaded).rejects.toThrow(/measured b0 at 256 px, but efficientnet-b0 takes 224 px/);
      expect(origin.registry.state).toBe('failed');
    } finally {
      await origin.close();
    }
  });

  it('batches no more than the profiled best batch', async () => {
    const path = await profileFile('batch.json', profile([b0Row({ best_batch: 2 })]));
    const origin = await startTestOrigin(models.dir, { ORIGIN_PROFILE: path, ORIGIN_BATCH_WINDOW_MS: '300' });
    try {
      const image = await solidImage('png');
      const responses = await Promise.all(Array.from({ length: 4 }, () => classify(origin.url, image)));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const text = await (await fetch(`${origin.url}/metrics`)).text();
      const match = { model: 'efficientnet-b0' };
      expect(metricValue(text, 'origin_batch_size_sum', match)).toBe(4);
      expect(metricValue(text, 'origin_batch_size_count', match)).toBeGreaterThanOrEqual(2);
      expect(metricValue(text, 'origin_batch_size_bucket', { ...match, le: '2' })).toBe(
        metricValue(text, 'origin_batch_size_count', match),
      );
    } finally {
      await origin.close();
    }
  });
});
