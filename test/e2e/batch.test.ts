// POST /v1/classify/batch end to end: the edge Worker in workerd and the GPU origin as its own Node process
// (real EfficientNet-B0 at the edge, B5 at the origin, untrained), signed HTTP on loopback. Several
// uncertain images must reach the origin in one call and run there as one batch; a bad image fails alone.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, testPhoto } from '../../infra/bench/images.ts';
import { EXIT_OK, runClassify } from '../../infra/cli/classify-command.ts';
import { killOrigin, spawnOrigin, waitForOrigin } from '../../infra/dev/origin-process.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { originModelsDir, testModels } from '../../infra/models/cache.ts';
import {
  type BatchResponse,
  BatchResponseSchema,
  type ClassifyResponse,
  ClassifyResponseSchema,
  isBatchError,
} from '../../shared/api/classify.ts';
import { createClient } from '../../shared/client/client.ts';
import { metricValue } from '../origin/helpers.ts';

const KEY_ID = 'e2e-batch';
/** B5 at 456 px on two shared CPU cores: seconds per batch; the edge's 10 s default is for GPUs. */
const ORIGIN_TIMEOUT_MS = 120_000;
const BOOT_TIMEOUT_MS = 10 * 60_000;

let edge: BootedWorker;
let origin: ChildProcess | undefined;
let originUrl: string;
const originLogs: string[] = [];
let photo: Uint8Array<ArrayBuffer>;
let images: { bytes: Uint8Array<ArrayBuffer>; type: string }[];
let scratch: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const [edgeModels, modelsDir, port, shot] = await Promise.all([
    testModels(),
    originModelsDir(),
    freePort(),
    testPhoto(),
  ]);
  photo = shot.bytes;
  const png = new Uint8Array(await sharp(Buffer.from(photo)).resize(240).png().toBuffer());
  images = [
    { bytes: photo, type: 'image/jpeg' },
    { bytes: await generatedJpeg(320, 240), type: 'image/jpeg' },
    { bytes: png, type: 'image/png' },
  ];
  scratch = await mkdtemp(path.join(tmpdir(), 'batch-e2e-'));
  const secret = randomBytes(32).toString('hex');
  originUrl = `http://127.0.0.1:${port}`;
  origin = spawnOrigin({
    port,
    modelsDir,
    models: ['efficientnet-b5'],
    hmacKeys: `${KEY_ID}:${secret}`,
    env: {
      ORIGIN_EXECUTION_PROVIDERS: 'cpu',
      ORIGIN_PREPROCESS_WORKERS: '1',
      ORIGIN_MAX_BATCH: '8',
      ORIGIN_WARMUP_RUNS: '1',
    },
    output: (chunk) => originLogs.push(chunk),
  });
  await waitForOrigin(originUrl, origin, BOOT_TIMEOUT_MS, () => originLogs.join(''));
  edge = await bootWorker({
    models: [edgeModels.b0, edgeModels.b1Split],
    vars: {
      ORIGIN_URL: originUrl,
      ORIGIN_KEY_ID: KEY_ID,
      ALLOW_OPEN_API: '1',
      ORIGIN_TIMEOUT_MS: String(ORIGIN_TIMEOUT_MS),
    },
    secrets: { ORIGIN_SECRET: secret },
  });
}, BOOT_TIMEOUT_MS);

afterAll(async () => {
  try {
    await edge?.dispose();
  } finally {
    await killOrigin(origin);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
});

function form(parts: readonly { bytes: Uint8Array<ArrayBuffer>; type: string }[]): FormData {
  const body = new FormData();
  parts.forEach((part, i) => {
    body.append('image', new Blob([part.bytes], { type: part.type }), `image-${i}`);
  });
  return body;
}

async function batch(body: FormData, query: string, requestId: string): Promise<BatchResponse> {
  const response = await edge.fetch(`/v1/classify/batch?${query}`, {
    method: 'POST',
    headers: { 'x-request-id': requestId },
    body,
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return BatchResponseSchema.parse(JSON.parse(text));
}

function answer(entry: BatchResponse['results'][number] | undefined): ClassifyResponse {
  if (!entry || isBatchError(entry)) throw new Error(`expected an answer, got ${JSON.stringify(entry)}`);
  return ClassifyResponseSchema.parse(entry);
}

async function originMetrics(): Promise<string> {
  return (await fetch(`${originUrl}/metrics`)).text();
}

const batches = (t: string) => metricValue(t, 'origin_batch_size_count', { model: 'efficientnet-b5' });
const batchedImages = (t: string) => metricValue(t, 'origin_batch_size_sum', { model: 'efficientnet-b5' });

/** The origin's access-log lines for one request id. */
function originRequests(requestId: string): { path: string }[] {
  return (
    originLogs
      .join('')
      .split('\n')
      .filter((line) => line.includes(`"request_id":"${requestId}"`) && line.includes('"path"'))
      // The origin prefixes its lines ("[origin] {...}").
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { path: string })
  );
}

describe('POST /v1/classify/batch through workerd and a real origin', () => {
  it('three uncertain images escalate in one origin call and run as one batch; a broken one fails alone', async () => {
    const broken = { bytes: Uint8Array.from(photo.subarray(0, 200)), type: 'image/jpeg' };
    const id = 'e2e-batch-auto';
    const before = await originMetrics();
    // min_confidence=1: every edge top-1 is below it, so every decodable image escalates.
    const body = await batch(
      form([images[0], broken, images[1], images[2]] as typeof images),
      'tier=auto&min_confidence=1',
      id,
    );
    const after = await originMetrics();

    expect(body.request_id).toBe(id);
    expect(body.results).toHaveLength(4);
    const bad = body.results[1];
    expect(bad && isBatchError(bad) ? [bad.status, bad.error.code] : bad).toEqual([422, 'invalid_image']);
    for (const entry of [body.results[0], body.results[2], body.results[3]]) {
      const result = answer(entry);
      expect(result).toMatchObject({ model: 'efficientnet-b5', tier: 'auto', escalated: true });
      expect(result.edge?.model).toBe('efficientnet-b0');
      expect(result.degraded ?? false).toBe(false);
      expect(result.predictions).toHaveLength(5);
    }
    // One signed call to the origin's batch route, none to its single-image route...
    expect(originRequests(id).map((line) => line.path)).toEqual(['/v1/classify/batch']);
    expect(edge.logs()).toMatch(
      new RegExp(`"msg":"origin batch call","request_id":"${id}"[^\\n]*"images":3`),
    );
    // ...and one model run for the three images.
    expect(batchedImages(after) - batchedImages(before)).toBe(3);
    expect(batches(after) - batches(before)).toBe(1);
  });

  it('a batch answers each image as POST /v1/classify does (origin scores within 1e-5)', async () => {
    const alone = await edge.fetch('/v1/classify?tier=accurate', {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: photo,
    });
    const single = ClassifyResponseSchema.parse(await alone.json());
    const body = await batch(form(images), 'tier=accurate', 'e2e-batch-accurate');
    expect(body.results).toHaveLength(3);
    const first = answer(body.results[0]);
    expect(first.model).toBe('efficientnet-b5');
    expect(first.predictions.map((p) => p.index)).toEqual(single.predictions.map((p) => p.index));
    first.predictions.forEach((p, i) => {
      // Batched and single runs may differ in the last float32 bits (different kernel tiling).
      expect(Math.abs(p.score - (single.predictions[i]?.score ?? Number.NaN))).toBeLessThanOrEqual(1e-5);
    });
    expect(originRequests('e2e-batch-accurate').map((line) => line.path)).toEqual(['/v1/classify/batch']);
  });

  it('the typed client and `npm run classify` with several files use the batch call', async () => {
    const client = createClient({ baseUrl: edge.url.toString(), fetch: globalThis.fetch });
    const result = await client.classifyBatch(
      images.map((image) => ({ image: image.bytes, contentType: image.type as 'image/jpeg' | 'image/png' })),
      { tier: 'fast', top_k: 3 },
    );
    expect(result.results.map((entry) => answer(entry).model)).toEqual(Array(3).fill('efficientnet-b0'));

    const files = await Promise.all(
      images.map(async (image, i) => {
        const file = path.join(scratch, `image-${i}.${image.type === 'image/png' ? 'png' : 'jpg'}`);
        await writeFile(file, image.bytes);
        return file;
      }),
    );
    let stdout = '';
    const code = await runClassify(
      [...files, '--json', '--tier', 'fast', '--top-k', '3', '--base-url', edge.url.toString()],
      {
        stdout: (text) => {
          stdout += text;
        },
        stderr: () => {},
        env: {},
      },
    );
    expect(code).toBe(EXIT_OK);
    const printed = JSON.parse(stdout) as { file: string; response: ClassifyResponse }[];
    expect(printed.map((entry) => entry.file)).toEqual(files);
    // One request id for the three files: they went in one call.
    expect(new Set(printed.map((entry) => entry.response.request_id)).size).toBe(1);
    printed.forEach((entry, i) => {
      expect(entry.response.predictions).toEqual(answer(result.results[i]).predictions);
    });
  });
});
