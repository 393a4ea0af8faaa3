// fetchPretrained against a real local HTTP server laid out like the Hugging Face hub (redirect to a CDN
// host, LFS digest in X-Linked-Etag, Range support), with faults injected on the transfer.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedPath, FetchError, fetchPretrained } from '../../infra/models/fetch.ts';
import { stderrProgress } from '../../infra/models/fetch-progress.ts';
import { writeSafetensors } from '../../shared/onnx/safetensors.ts';
import { type HubServer, sha256Hex, startHubServer } from '../fixtures/hub-server.ts';

// ~200 KB checkpoint: big enough that a transfer can be cut in the middle.
function checkpoint(seed: number): Uint8Array {
  const data = new Float32Array(50_000);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(seed * 7919 + i * 0.37);
  return writeSafetensors({ 'classifier.1.weight': { shape: [100, 500], data } });
}

const BODY = checkpoint(1);
const SHA = sha256Hex(BODY);
const HALF = Math.floor(BODY.length / 2);

let hub: HubServer;
let cacheDir: string;
let repoCounter = 0;
/** Each test gets its own repository name, so cache entries and server state never leak between tests. */
let repo: string;

beforeAll(async () => {
  hub = await startHubServer();
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'fetch-test-'));
  repoCounter += 1;
  repo = `timm/test_model_${repoCounter}`;
  hub.log.length = 0;
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

function requestsFor(server: 'hub' | 'cdn') {
  return hub.log.filter((entry) => entry.server === server);
}

async function rejection(promise: Promise<unknown>): Promise<FetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FetchError);
  return error as FetchError;
}

async function cacheContents(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.push(path.slice(cacheDir.length + 1));
    }
  };
  await walk(cacheDir);
  return found;
}

describe('fetchPretrained', () => {
  it('follows the redirect, verifies the announced sha256 and caches under <repo>/<revision>/<file>', async () => {
    hub.put(repo, { body: BODY });
    const progress: Array<[number, number | undefined]> = [];
    const path = await fetchPretrained(repo, {
      endpoint: hub.endpoint,
      cacheDir,
      token: 'hf_secret',
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(path).toBe(join(cacheDir, repo, 'main', 'model.safetensors'));
    expect(path).toBe(cachedPath(repo, 'model.safetensors', cacheDir));
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    expect(await cacheContents()).toEqual([join(repo, 'main', 'model.safetensors')]);
    expect(progress.at(-1)).toEqual([BODY.length, BODY.length]);
    // The token goes to the hub only, never to the CDN host it redirects to.
    expect(requestsFor('hub')).toMatchObject([{ authorization: 'Bearer hf_secret', status: 302 }]);
    expect(requestsFor('cdn')).toMatchObject([{ authorization: undefined, range: undefined, status: 200 }]);

    // Second call: served from the cache without any request.
    hub.log.length = 0;
    expect(await fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, onProgress: () => {} })).toBe(
      path,
    );
    expect(hub.log).toEqual([]);
  });

  it('reads the endpoint from HF_ENDPOINT', async () => {
    hub.put(repo, { body: BODY });
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = hub.endpoint;
    try {
      const path = await fetchPretrained(repo, { cacheDir, onProgress: () => {} });
      expect(sha256Hex(await readFile(path))).toBe(SHA);
      expect(requestsFor('hub')).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved;
    }
  });

  it('resumes a transfer that broke off, asking only for the missing bytes', async () => {
    hub.put(repo, { body: BODY, breakAfterBytes: HALF });
    const path = await fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, onProgress: () => {} });
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    const cdn = requestsFor('cdn');
    expect(cdn).toHaveLength(2);
    expect(cdn[0]).toMatchObject({ range: undefined, status: 200 });
    expect(cdn[1]).toMatchObject({ range: `bytes=${HALF}-`, status: 206 });
  });

  it('keeps the partial file when retries run out, and a later call resumes it', async () => {
    hub.put(repo, { body: BODY, breakAfterBytes: HALF });
    const error = await rejection(
      fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, retries: 0, onProgress: () => {} }),
    );
    expect(error.code).toBe('interrupted');
    expect(error.message).toMatch(/broke off after \d+ bytes .*run again to resume/);
    const part = `${cachedPath(repo, 'model.safetensors', cacheDir)}.part`;
    expect((await stat(part)).size).toBe(HALF);
    expect(existsSync(cachedPath(repo, 'model.safetensors', cacheDir))).toBe(false);

    const path = await fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, onProgress: () => {} });
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    expect(requestsFor('cdn').at(-1)).toMatchObject({ range: `bytes=${HALF}-`, status: 206 });
    expect(existsSync(part)).toBe(false);
  });

  it('treats a silent connection as broken off after the stall timeout, then resumes', async () => {
    hub.put(repo, { body: BODY, stallAfterBytes: HALF });
    const path = await fetchPretrained(repo, {
      endpoint: hub.endpoint,
      cacheDir,
      stallTimeoutMs: 300,
      onProgress: () => {},
    });
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    expect(requestsFor('cdn').map((r) => r.range)).toEqual([undefined, `bytes=${HALF}-`]);
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    hub.put(repo, { body: BODY, breakAfterBytes: HALF, ignoreRange: true });
    const path = await fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, onProgress: () => {} });
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    expect(requestsFor('cdn').map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      [`bytes=${HALF}-`, 200],
    ]);
  });

  it('discards a stale partial file that does not match, and downloads afresh', async () => {
    hub.put(repo, { body: BODY });
    const part = `${cachedPath(repo, 'model.safetensors', cacheDir)}.part`;
    await mkdir(dirname(part), { recursive: true });
    // Same length prefix as a real partial download, but bytes of another checkpoint version.
    await writeFile(part, checkpoint(2).subarray(0, HALF));
    const path = await fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, onProgress: () => {} });
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    expect(requestsFor('cdn').map((r) => r.range)).toEqual([`bytes=${HALF}-`, undefined]);
  });

  it('restarts when the partial file is longer than the remote file (416)', async () => {
    hub.put(repo, { body: BODY });
    const part = `${cachedPath(repo, 'model.safetensors', cacheDir)}.part`;
    await mkdir(dirname(part), { recursive: true });
    await writeFile(part, new Uint8Array(BODY.length + 10));
    const path = await fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, onProgress: () => {} });
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    expect(requestsFor('cdn').map((r) => r.status)).toEqual([416, 200]);
  });

  it('fails on a wrong announced checksum and leaves nothing behind', async () => {
    hub.put(repo, { body: BODY, announcedSha256: sha256Hex(checkpoint(3)) });
    const error = await rejection(
      fetchPretrained(repo, { endpoint: hub.endpoint, cacheDir, onProgress: () => {} }),
    );
    expect(error.code).toBe('checksum');
    expect(error.message).toContain(`expected sha256 ${sha256Hex(checkpoint(3))}, got ${SHA}`);
    expect(await cacheContents()).toEqual([]);
  });

  it('checks a caller-supplied sha256 instead of the announced one', async () => {
    hub.put(repo, { body: BODY });
    const wrong = 'ab'.repeat(32);
    const error = await rejection(
      fetchPretrained(repo, {
        endpoint: hub.endpoint,
        cacheDir,
        expectedSha256: wrong,
        onProgress: () => {},
      }),
    );
    expect(error.code).toBe('checksum');
    expect(await cacheContents()).toEqual([]);
    const path = await fetchPretrained(repo, {
      endpoint: hub.endpoint,
      cacheDir,
      expectedSha256: SHA.toUpperCase(),
      onProgress: () => {},
    });
    expect(sha256Hex(await readFile(path))).toBe(SHA);
  });

  it('explains 404 for a missing file and 401 for an unknown repository', async () => {
    hub.put(repo, { body: BODY });
    const missing = await rejection(
      fetchPretrained(repo, {
        endpoint: hub.endpoint,
        cacheDir,
        file: 'pytorch_model.bin',
        onProgress: () => {},
      }),
    );
    expect(missing.code).toBe('not_found');
    expect(missing.message).toBe(
      `${repo} has no file pytorch_model.bin at revision main (HTTP 404 from ${new URL(hub.endpoint).host}) ` +
        '(Entry not found)',
    );
    const unknown = await rejection(
      fetchPretrained('timm/no_such_model', { endpoint: hub.endpoint, cacheDir, onProgress: () => {} }),
    );
    expect(unknown.code).toBe('unauthorized');
    expect(unknown.message).toMatch(/HTTP 401 .*does not exist, or it is private or gated.*HF_TOKEN/);
    expect(await cacheContents()).toEqual([]);
  });

  it('gives the offline message when the endpoint cannot be reached', async () => {
    // A port that was just free and is now closed: connection refused, as without a network route.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as import('node:net').AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const error = await rejection(
      fetchPretrained(repo, { endpoint: `http://127.0.0.1:${port}`, cacheDir, onProgress: () => {} }),
    );
    expect(error.code).toBe('offline');
    expect(await readdir(cacheDir)).toEqual([]);
    expect(error.message).toBe(
      `cannot reach 127.0.0.1:${port}: connection refused (ECONNREFUSED); pretrained weights need internet ` +
        'access; build untrained ones with --weights random',
    );
    expect(await cacheContents()).toEqual([]);
  });

  it('stops on abort, keeping the partial file for a later resume', async () => {
    hub.put(repo, { body: BODY, stallAfterBytes: HALF });
    const controller = new AbortController();
    const error = await rejection(
      fetchPretrained(repo, {
        endpoint: hub.endpoint,
        cacheDir,
        signal: controller.signal,
        onProgress: (done) => {
          if (done >= HALF) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('aborted');
    expect(error.message).toMatch(/partial file kept/);
    expect((await stat(`${cachedPath(repo, 'model.safetensors', cacheDir)}.part`)).size).toBe(HALF);
  });

  it('rejects malformed repository names before any request', async () => {
    const error = await rejection(fetchPretrained('../etc', { endpoint: hub.endpoint, cacheDir }));
    expect(error.code).toBe('invalid');
    expect(hub.log).toEqual([]);
  });
});

describe('stderrProgress', () => {
  function collector() {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    return { lines, stream };
  }

  it('prints one plain line per tenth when not on a terminal', () => {
    const { lines, stream } = collector();
    const { onProgress, finish } = stderrProgress('m', { stream, tty: false });
    for (let done = 0; done <= 1000; done += 25) onProgress(done, 1000);
    finish();
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('m: 0% (0.0 MB / 0.0 MB)\n');
    expect(lines.at(-1)).toBe('m: 100% (0.0 MB / 0.0 MB)\n');
  });

  it('redraws one line with carriage returns on a terminal', () => {
    const { lines, stream } = collector();
    const { onProgress, finish } = stderrProgress('m', { stream, tty: true });
    onProgress(0, 2 * 1024 * 1024);
    onProgress(2 * 1024 * 1024, 2 * 1024 * 1024);
    finish();
    expect(
      lines.every((l, i) => (i < lines.length - 1 ? l.startsWith('\r') && !l.includes('\n') : l === '\n')),
    ).toBe(true);
    expect(lines.at(-2)).toContain('[##############################] 100% 2.0 MB / 2.0 MB');
  });
});
