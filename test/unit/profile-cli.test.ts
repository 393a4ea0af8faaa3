// `npm run profile`: argument errors and unavailable runtimes exit 2 with one precise line; a tiny real
// origin run (B0, onnxruntime-node, 3 warm runs) writes rows of the documented shape.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProfileArgs } from '../../infra/profile/args.ts';
import { paretoFront, renderChart } from '../../infra/profile/chart.ts';
import type { Profile, ProfileRow } from '../../infra/profile/row.ts';

const root = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'profile-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'infra/profile/cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 170_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('profile arguments', () => {
  it.each([
    [['--runtime', 'gpu'], /--runtime must be edge or origin/],
    [['--provider', 'rocm'], /--provider must be cpu or cuda/],
    [['--variants', 'b0,b9'], /--variants takes b0..b7 or phi<x>.*"b9"/],
    [['--variants', 'phi99'], /"phi99"/],
    [['--runs', '0'], /--runs must be an integer/],
    [['--runs'], /--runs needs a value/],
    [['--bogus'], /unknown option --bogus/],
    [['b0'], /unexpected argument "b0"/],
  ])('rejects %j', (args, message) => {
    expect(() => parseProfileArgs(args)).toThrow(message);
  });

  it('defaults: origin on cpu, all of b0..b7; the edge stops at b4; phi tokens are accepted', () => {
    expect(parseProfileArgs([])).toMatchObject({ runtime: 'origin', provider: 'cpu', json: false });
    expect(parseProfileArgs([]).variants).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7']);
    expect(parseProfileArgs(['--runtime=edge']).variants).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(parseProfileArgs(['--variants', 'B1,phi0.5,b1']).variants).toEqual(['b1', 'phi0.5']);
  });
});

describe('profile CLI exit codes', () => {
  it('exits 2 with the usage on a bad argument', () => {
    const r = cli('--runtime', 'gpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/profile: --runtime must be edge or origin, got "gpu"/);
    expect(r.stderr).toMatch(/usage: npm run profile/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 when CUDA is asked for and onnxruntime-node has no CUDA provider here', () => {
    const r = cli(
      '--json',
      '--runtime',
      'origin',
      '--provider',
      'cuda',
      '--variants',
      'b0',
      '--out',
      join(work, 'x.json'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /not available here: CUDA is not available: onnxruntime-node has no libonnxruntime_providers_cuda\.so/,
    );
    expect(r.stdout).toBe('');
  });

  it('exits 2 for a provider the edge runtime does not have', () => {
    const r = cli('--runtime', 'edge', '--provider', 'cuda');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not available here: the edge runs onnxruntime-web's WASM build/);
  });
});

describe('profile run', () => {
  it('profiles B0 on onnxruntime-node and writes rows of the documented shape', () => {
    const out = join(work, 'origin.json');
    const r = cli(
      '--json',
      '--runtime',
      'origin',
      '--variants',
      'b0',
      '--runs',
      '3',
      '--budget-s',
      '2',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as Profile;
    const written = JSON.parse(readFileSync(out, 'utf8')) as Profile;
    expect(written).toEqual(printed);
    expect(printed).toMatchObject({
      runtime: 'origin',
      provider: 'cpu',
      machine: { cpus: expect.any(Number) },
    });
    expect(Date.parse(printed.date)).not.toBeNaN();
    expect(printed.rows).toHaveLength(1);
    const row = printed.rows[0] as ProfileRow;
    expect(Object.keys(row)).toEqual(
      expect.arrayContaining([
        'variant',
        'runtime',
        'provider',
        'p50_ms',
        'p95_ms',
        'cold_ms',
        'img_s',
        'peak_mib',
        'fits',
        'top1_published',
        'macs',
        'params',
      ]),
    );
    expect(row).toMatchObject({
      variant: 'b0',
      runtime: 'origin',
      provider: 'cpu',
      fits: true,
      top1_published: 78.68,
      resolution: 224,
    });
    // Counted from the graph: 0.386-0.387 G MACs and ~5.27-5.29 M params (field notes).
    expect(row.macs).toBeGreaterThan(0.38e9);
    expect(row.macs).toBeLessThan(0.39e9);
    expect(row.params).toBeGreaterThan(5.2e6);
    expect(row.params).toBeLessThan(5.3e6);
    expect(row.p50_ms).toBeGreaterThan(0);
    expect(row.p95_ms).toBeGreaterThanOrEqual(row.p50_ms as number);
    expect(row.cold_ms).toBeGreaterThan(row.p50_ms as number);
    expect(row.img_s).toBeGreaterThanOrEqual(row.img_s_batch1 as number);
    expect(Object.keys(row.batches ?? {})).toEqual(['1', '2', '4', '8']);
    // A Node process with B0 loaded holds tens of MiB at least, and far less than 4 GiB.
    expect(row.peak_mib).toBeGreaterThan(40);
    expect(row.peak_mib).toBeLessThan(4096);
  });
});

describe('profile chart', () => {
  const row = (variant: string, p50: number, top1: number | null): ProfileRow => ({
    variant,
    runtime: 'origin',
    provider: 'cpu',
    p50_ms: p50,
    p95_ms: p50,
    cold_ms: p50,
    img_s: 1,
    peak_mib: 1,
    fits: true,
    top1_published: top1,
    macs: 1,
    params: 1,
    resolution: 224,
  });

  it('keeps on the Pareto front only models no faster model beats on accuracy', () => {
    const rows = [row('b0', 10, 78.68), row('b2', 30, 82.41), row('b1', 40, 81.39), row('phi0.5', 5, null)];
    expect(paretoFront(rows).map((r) => r.variant)).toEqual(['b0', 'b2']);
  });

  it('draws every measured model, custom phi labelled on the latency strip', () => {
    const profile = {
      runtime: 'origin',
      provider: 'cpu',
      machine: { cpu: 'x', cpus: 2, memory_gib: 1, platform: 'linux/x64', node: 'v20', load_avg_1m: [1] },
      date: '2026-11-30T00:00:00Z',
      notes: [],
      rows: [row('b0', 10, 78.68), row('phi0.5', 15, null)],
    } satisfies Profile;
    const svg = renderChart([profile]);
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('>B0<');
    expect(svg).toContain('>φ0.5<');
    expect((svg.match(/<circle /g) ?? []).length).toBe(3); // two rows + the legend
  });
});
