// The origin client's batch call against a real HTTP server on 127.0.0.1 that verifies the signature with
// shared/signing and reads the multipart body as the origin does (the web platform's FormData parser).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOriginClient } from '../../edge/origin/client.ts';
import { interpretBatchEntry } from '../../edge/origin/interpret.ts';
import type { BatchResponse } from '../../shared/api/classify.ts';
import { createVerifier } from '../../shared/signing/index.ts';

const KEY_ID = 'edge-batch';
const SECRET = 'batch-test-secret-that-is-at-least-32-characters';
const verifier = createVerifier({ keys: new Map([[KEY_ID, SECRET]]) });

interface Received {
  path: string;
  signature: string;
  images: { bytes: number[]; type: string }[];
}

let server: Server;
let baseUrl: string;
let received: Received[] = [];
/** What the server answers, given what it read. */
let answer: (got: Received) => { status: number; body: unknown; headers?: Record<string, string> };

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = new Uint8Array(Buffer.concat(chunks));
    const url = req.url ?? '/';
    const verdict = await verifier.verify({
      method: req.method ?? 'POST',
      pathWithQuery: url,
      header: (name) => {
        const value = req.headers[name.toLowerCase()];
        return Array.isArray(value) ? value[0] : value;
      },
      body,
    });
    const form = await new Request('http://x/', {
      method: 'POST',
      body,
      headers: { 'content-type': String(req.headers['content-type']) },
    }).formData();
    const images = await Promise.all(
      form.getAll('image').map(async (part) => {
        const file = part as File;
        return { bytes: [...new Uint8Array(await file.arrayBuffer())], type: file.type };
      }),
    );
    const got = { path: url, signature: verdict.ok ? 'valid' : verdict.message, images };
    received.push(got);
    const { status, body: out, headers = {} } = answer(got);
    res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...headers });
    res.end(JSON.stringify(out));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const IMAGES = [
  { bytes: new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]), contentType: 'image/jpeg' },
  { bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 0, 255]), contentType: 'image/png' },
  { bytes: new Uint8Array([0xff, 0xd8, 0xff, 9]), contentType: 'image/jpeg' },
];

function client() {
  return createOriginClient({ baseUrl, keyId: KEY_ID, secret: SECRET, retryDelayMs: 0 });
}

const call = (deadlineInMs = 5000) => ({
  model: 'efficientnet-b5' as const,
  top_k: 3,
  requestId: 'batch-rid',
  deadlineMs: Date.now() + deadlineInMs,
});

function success(index: number): BatchResponse['results'][number] {
  return {
    request_id: 'batch-rid',
    model: 'efficientnet-b5',
    tier: 'accurate',
    weights: 'untrained',
    predictions: [{ index, label: `class ${index}`, score: 0.5 }],
    timings_ms: { decode: 1, preprocess: 1, inference: 1, total: 3 },
  };
}

describe('classifyBatch', () => {
  it('sends every image, intact and in order, in one signed multipart call; reads each entry', async () => {
    received = [];
    answer = (got) => ({
      status: 200,
      body: {
        request_id: 'batch-rid',
        results: [
          success(got.images[0]?.bytes.length ?? -1),
          { status: 422, error: { code: 'invalid_image', message: 'corrupt', request_id: 'batch-rid' } },
          {
            status: 429,
            error: { code: 'queue_full', message: 'full', request_id: 'batch-rid' },
            retry_after_s: 7,
          },
        ],
      },
    });
    const result = await client().classifyBatch(IMAGES, call());
    expect(received).toHaveLength(1);
    expect(received[0]?.path).toBe('/v1/classify/batch?model=efficientnet-b5&top_k=3');
    expect(received[0]?.signature).toBe('valid');
    expect(received[0]?.images).toEqual(
      IMAGES.map((image) => ({ bytes: [...image.bytes], type: image.contentType })),
    );
    if (!result.ok) throw new Error(result.message);
    expect(result.attempts).toBe(1);
    const [first, second, third] = result.results.map((entry) => interpretBatchEntry(entry, result.attempts));
    expect(first).toMatchObject({ ok: true, response: { predictions: [{ index: 6 }] } });
    expect(second).toMatchObject({
      ok: false,
      kind: 'rejected',
      status: 422,
      envelope: { error: { code: 'invalid_image' } },
    });
    expect(third).toMatchObject({ ok: false, kind: 'busy', status: 429, retryAfterS: 7 });
  });

  it('a whole-call error is one failure for the call; a wrong number of entries is a bad response', async () => {
    answer = () => ({
      status: 429,
      body: { error: { code: 'queue_full', message: 'full', request_id: 'x' } },
      headers: { 'retry-after': '3' },
    });
    expect(await client().classifyBatch(IMAGES, call())).toMatchObject({
      ok: false,
      kind: 'busy',
      retryAfterS: 3,
    });
    answer = () => ({ status: 200, body: { request_id: 'x', results: [success(1)] } });
    expect(await client().classifyBatch(IMAGES, call())).toMatchObject({
      ok: false,
      kind: 'bad_response',
      message: 'origin answered 1 results for 3 images',
    });
  });

  it('shares the breaker with single calls: failed batches open it for both', async () => {
    answer = () => ({ status: 500, body: { error: { code: 'internal', message: 'boom', request_id: 'x' } } });
    const shared = client();
    for (let i = 0; i < 5; i++) expect((await shared.classifyBatch(IMAGES, call())).ok).toBe(false);
    received = [];
    const single = await shared.classify(IMAGES[0]?.bytes as Uint8Array<ArrayBuffer>, 'image/jpeg', call());
    expect(single).toMatchObject({ ok: false, kind: 'circuit_open', attempts: 0 });
    expect(received).toHaveLength(0);
  });
});
