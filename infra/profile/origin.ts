// Origin profile: each variant on onnxruntime-node with the requested provider, in its own child process
// (origin-child.ts) so peak memory is that model's. Batch 1 latency, and throughput at the best batch.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileArgs } from './args.ts';
import { UnavailableError } from './availability.ts';
import { describeModel, modelDir } from './models.ts';
import type { OriginChildResult } from './origin-child.ts';
import type { ProfileRow } from './row.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'origin-child.ts');

function runChild(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function profileOrigin(args: ProfileArgs, log: (line: string) => void): Promise<ProfileRow[]> {
  const rows: ProfileRow[] = [];
  for (const token of args.variants) {
    const model = describeModel(token);
    const dir = await modelDir(model, log, null);
    log(`[profile] origin ${model.id} on ${args.provider}`);
    const { code, stdout, stderr } = await runChild([
      path.join(dir, 'model.onnx'),
      String(model.resolution),
      args.provider,
      String(args.runs),
      String(args.budgetS),
    ]);
    const base = {
      variant: token,
      runtime: 'origin' as const,
      provider: args.provider,
      top1_published: model.top1Published,
      macs: model.macs,
      params: model.params,
      resolution: model.resolution,
    };
    if (code !== 0) {
      const reason = stderr.trim().split('\n').slice(-1)[0] ?? `exit ${code}`;
      // A provider that cannot load is the machine's answer for every variant, not this model's.
      if (args.provider !== 'cpu' && /shared library|provider/i.test(reason))
        throw new UnavailableError(`provider ${args.provider} could not start: ${reason}`);
      rows.push({ ...base, ...nulls(), error: reason });
      continue;
    }
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as OriginChildResult;
    rows.push({
      ...base,
      p50_ms: r.p50_ms,
      p95_ms: r.p95_ms,
      cold_ms: r.cold_ms,
      img_s: r.img_s,
      peak_mib: r.peak_mib,
      fits: true,
      best_batch: r.best_batch,
      img_s_batch1: r.batches['1'] ?? Number.NaN,
      batches: r.batches,
      warm_runs: r.warm_runs,
      cold_parts: { session_create_ms: r.session_create_ms, first_run_ms: r.first_run_ms },
    });
  }
  return rows;
}

export function nulls() {
  return { p50_ms: null, p95_ms: null, cold_ms: null, img_s: null, peak_mib: null, fits: null };
}
