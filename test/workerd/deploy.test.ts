// `wrangler deploy --dry-run` bundles the Worker exactly as a deploy would, without an account. It must
// succeed, carry the ORT and codec binaries as separate modules, and fit Workers' compressed size limit.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ORT_WASM_FILE } from '../../edge/inference/ort-expectations.ts';
import { REPO_ROOT } from '../../infra/dev/workerd.ts';

/** Workers (paid plan) accept at most 10 MB of compressed script + modules; the free plan 3 MB. */
const WORKERS_GZIP_LIMIT = 10 * 1024 * 1024;

let outdir: string | undefined;
afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe('wrangler deploy --dry-run', () => {
  it('bundles the Worker within the size limit', async () => {
    outdir = await mkdtemp(path.join(tmpdir(), 'edge-dry-run-'));
    const wrangler = path.join(REPO_ROOT, 'node_modules/.bin/wrangler');
    const { stdout } = await promisify(execFile)(wrangler, ['deploy', '--dry-run', '--outdir', outdir], {
      cwd: REPO_ROOT,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
    });
    expect(stdout).toContain('--dry-run: exiting now.');
    const files = (await readdir(outdir)).filter((name) => !name.endsWith('.map') && name !== 'README.md');
    expect(files).toContain('index.js');
    expect(files.some((name) => name.endsWith(ORT_WASM_FILE))).toBe(true);
    let raw = 0;
    let gzip = 0;
    for (const name of files) {
      const bytes = await readFile(path.join(outdir, name));
      raw += bytes.length;
      gzip += gzipSync(bytes, { level: 9 }).length;
    }
    console.log(
      `edge bundle: ${files.length} modules, ${(raw / 2 ** 20).toFixed(2)} MiB raw, ${(gzip / 2 ** 20).toFixed(2)} MiB gzip`,
    );
    expect(gzip).toBeLessThan(WORKERS_GZIP_LIMIT);
  });
});
