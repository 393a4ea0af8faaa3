// The models CLI wired to fetchPretrained: `fetch b0` and `build b0 --weights hf:<repo>` download from a local
// hub (HF_ENDPOINT) into MODELS_CACHE_DIR, and an unreachable hub fails with the offline message and no output.
// The CLI only builds published variants, so the hub serves a full-size B0 checkpoint in timm naming
// (21 MB, generated here with simple deterministic values; its numerics are covered by the parity tests).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedPath } from '../../infra/models/fetch.ts';
import { variantConfig } from '../../shared/efficientnet/config.ts';
import { buildSpec, convsInOrder, convWeightShape } from '../../shared/efficientnet/spec.ts';
import { writeSafetensors } from '../../shared/onnx/safetensors.ts';
import { type HubServer, sha256Hex, startHubServer } from '../fixtures/hub-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPO = 'timm/tf_efficientnet_b0.ns_jft_in1k'; // the CLI's default for b0

function b0Checkpoint(): Uint8Array {
  const spec = buildSpec(variantConfig('b0', { source: 'tf' }));
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const filled = (shape: number[], f: (i: number) => number) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = f(i);
    return { shape, data };
  };
  for (const conv of convsInOrder(spec)) {
    const shape = convWeightShape(conv);
    tensors[`${conv.module.timm}.weight`] = filled(shape, (i) => 0.01 * Math.sin(i));
    const c = [conv.outChannels];
    if (!conv.bn) {
      tensors[`${conv.module.timm}.bias`] = filled(c, () => 0);
      continue;
    }
    const bn = conv.bn.timm;
    tensors[`${bn}.weight`] = filled(c, () => 1);
    tensors[`${bn}.bias`] = filled(c, () => 0);
    tensors[`${bn}.running_mean`] = filled(c, () => 0);
    tensors[`${bn}.running_var`] = filled(c, () => 1);
  }
  const { inFeatures, outFeatures } = spec.classifier;
  tensors['classifier.weight'] = filled([outFeatures, inFeatures], (i) => 0.001 * Math.cos(i));
  tensors['classifier.bias'] = filled([outFeatures], () => 0);
  return writeSafetensors(tensors);
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...env };
    delete childEnv.HF_TOKEN;
    execFile(
      process.execPath,
      ['--import', 'tsx', 'infra/models/cli.ts', ...args],
      { cwd: ROOT, env: childEnv, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let hub: HubServer;
let work: string;
let checkpointSha: string;

beforeAll(async () => {
  hub = await startHubServer();
  const body = b0Checkpoint();
  checkpointSha = sha256Hex(body);
  hub.put(REPO, { body });
  work = await mkdtemp(join(tmpdir(), 'fetch-cli-'));
});
afterAll(async () => {
  await hub.close();
  await rm(work, { recursive: true, force: true });
});

describe('models CLI with pretrained weights from the hub', () => {
  it('`fetch b0` downloads the default repository and `build --weights hf:` reuses the cached file', async () => {
    const cache = join(work, 'cache');
    const env = { HF_ENDPOINT: hub.endpoint, MODELS_CACHE_DIR: cache };

    const fetched = await runCli(['fetch', 'b0', '--out', join(work, 'fetched')], env);
    expect(fetched.stderr).not.toMatch(/models: /);
    expect(fetched.code).toBe(0);
    const cached = cachedPath(REPO, 'model.safetensors', cache);
    expect(sha256Hex(await readFile(cached))).toBe(checkpointSha);
    expect(hub.log.filter((r) => r.server === 'cdn')).toHaveLength(1);
    const meta = JSON.parse(await readFile(join(work, 'fetched', 'efficientnet-b0', 'model.json'), 'utf8'));
    expect(meta).toMatchObject({ weights: 'pretrained', source: 'tf', config: { padding: 'tf_same' } });

    const built = await runCli(['build', 'b0', '--weights', `hf:${REPO}`, '--out', join(work, 'built')], env);
    expect(built.code).toBe(0);
    expect(hub.log.filter((r) => r.server === 'cdn')).toHaveLength(1); // served from the cache
    // Same downloaded checkpoint -> byte-identical graph.
    const onnx = (dir: string) => readFile(join(work, dir, 'efficientnet-b0', 'model.onnx'));
    expect(sha256Hex(await onnx('built'))).toBe(sha256Hex(await onnx('fetched')));
  });

  it('reports an unreachable hub in one line, exits non-zero and writes nothing', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as import('node:net').AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const out = join(work, 'offline-out');
    const result = await runCli(['fetch', 'b0', '--out', out], {
      HF_ENDPOINT: `http://127.0.0.1:${port}`,
      MODELS_CACHE_DIR: join(work, 'offline-cache'),
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `models: cannot reach 127.0.0.1:${port}: connection refused (ECONNREFUSED); pretrained weights need ` +
        'internet access; build untrained ones with --weights random',
    );
    expect(existsSync(out)).toBe(false);
  });
});
