// End to end: the edge Worker in workerd and the GPU origin as a Node process, talking over real HTTP on
// loopback ports, with real EfficientNets on both sides (untrained: seeded random weights, so these tests
// check routing and contracts, not labels) and the committed latency profiles in the edge's bucket. The
// stack boots once; the outage tests kill the origin, and POST /v1/classify/batch runs last on the origin
// they restart, which batches.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, testPhoto } from '../../infra/bench/images.ts';
import { EXIT_OK, runClassify } from '../../infra/cli/classify-command.ts';
import { REPO_ROOT } from '../../infra/dev/workerd.ts';
import {
  type BatchResponse,
  BatchResponseSchema,
  type ClassifyResponse,
  ClassifyResponseSchema,
  isBatchError,
} from '../../shared/api/classify.ts';
import { ApiClientError, createClient } from '../../shared/client/client.ts';
import { metricValue } from '../origin/helpers.ts';
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from './browser.ts';
import { classify, type Stack, startStack } from './stack.ts';

/** The edge's breaker defaults (edge/origin/breaker.ts; the edge has no setting for them): opens after
 * this many consecutive failures and lets a probe through after this cooldown. */
const BREAKER_FAILURES = 5;
const BREAKER_COOLDOWN_MS = 10_000;
/** B7 at 600 px on two shared CPU cores takes seconds; the edge's default 10 s origin budget is for GPUs. */
const ORIGIN_TIMEOUT_MS = 120_000;
const BOOT_TIMEOUT_MS = 15 * 60_000;
/** Edge and origin run the same image; B0 in workerd is deterministic, so its top-1 repeats exactly. */
const SCORE_TOLERANCE = 1e-6;
/**
 * The origin as the batch tests need it (B5 only, up to 8 images per model run, the default queue); the
 * stack's own setting (one running, one waiting) is for the shedding test.
 */
const BATCHING_MODELS = ['efficientnet-b5'];
const BATCHING_ORIGIN_ENV = { ORIGIN_MAX_BATCH: '8', ORIGIN_MAX_QUEUE: '64' };
/** Whether the running origin was started with BATCHING_ORIGIN_ENV (the breaker test restarts it so). */
let batchingOrigin = false;

let stack: Stack;
let photo: Uint8Array<ArrayBuffer>;
/** B0's top-1 probability for the photo, from tier fast; auto runs the same model first. */
let edgeTop1: number;

beforeAll(async () => {
  const started = Date.now();
  [stack, photo] = await Promise.all([
    startStack({
      edgeVars: { ORIGIN_TIMEOUT_MS: String(ORIGIN_TIMEOUT_MS) },
      // One running and one waiting per model: the CPU setting of docs/reliability.md, and small enough
      // that a handful of concurrent requests makes the origin shed.
      originEnv: { ORIGIN_MAX_BATCH: '1', ORIGIN_MAX_QUEUE: '1' },
      // The committed profiles, as a deploy uploads them: latency_budget_ms chooses by their p95s.
      edgeProfiles: [
        { runtime: 'edge', file: path.join(REPO_ROOT, 'profiles/edge.json') },
        { runtime: 'origin', file: path.join(REPO_ROOT, 'profiles/origin.json') },
      ],
    }),
    testPhoto().then((p) => p.bytes),
  ]);
  console.log(
    `[e2e] stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s: edge ${stack.edgeUrl}, origin ${stack.originUrl}`,
  );
}, BOOT_TIMEOUT_MS);

afterAll(async () => {
  await stack?.dispose();
});

type Body = Record<string, unknown> & {
  predictions?: { index: number; label: string; score: number }[];
  edge?: { model: string; top1_score: number };
};

function expectAnswer(body: Body, model: string, tier: string): void {
  expect(body.model).toBe(model);
  expect(body.tier).toBe(tier);
  expect(body.weights).toBe('untrained');
  expect(body.predictions).toHaveLength(5);
  const scores = (body.predictions ?? []).map((p) => p.score);
  expect([...scores].sort((a, b) => b - a)).toEqual(scores);
}

describe('tiers', () => {
  it('fast: edge B0 answers on its own', async () => {
    const { status, body } = await classify(stack, photo, 'tier=fast');
    expect(status, JSON.stringify(body)).toBe(200);
    expectAnswer(body, 'efficientnet-b0', 'fast');
    expect(body.escalated ?? false).toBe(false);
    expect(body.degraded ?? false).toBe(false);
    edgeTop1 = (body as Body).predictions?.[0]?.score ?? Number.NaN;
    // min_confidence=1 forces escalation only while the top-1 is below 1 (escalation is strictly below).
    expect(edgeTop1).toBeGreaterThan(0);
    expect(edgeTop1).toBeLessThan(1);
  });

  it('balanced: edge B1 answers on its own', async () => {
    const { status, body } = await classify(stack, photo, 'tier=balanced');
    expect(status, JSON.stringify(body)).toBe(200);
    expectAnswer(body, 'efficientnet-b1', 'balanced');
    expect(body.escalated ?? false).toBe(false);
    expect(body.degraded ?? false).toBe(false);
  });

  it('accurate: origin B5 answers, under the request id both services log', async () => {
    const id = 'e2e-accurate-1';
    const { status, body } = await classify(stack, photo, 'tier=accurate', { 'x-request-id': id });
    expect(status, JSON.stringify(body)).toBe(200);
    expectAnswer(body, 'efficientnet-b5', 'accurate');
    expect(body.request_id).toBe(id);
    expect(stack.edge.logs()).toContain(`"request_id":"${id}"`);
    expect(stack.originLogs()).toContain(`"request_id":"${id}"`);
    expect(body.degraded ?? false).toBe(false);
    // No edge compute for accurate: nothing escalated.
    expect(body.escalated ?? false).toBe(false);
    expect(body.edge).toBeUndefined();
  });

  it('max: origin B7 answers', async () => {
    const { status, body } = await classify(stack, photo, 'tier=max');
    expect(status, JSON.stringify(body)).toBe(200);
    expectAnswer(body, 'efficientnet-b7', 'max');
    expect(body.degraded ?? false).toBe(false);
    expect(body.edge).toBeUndefined();
  });
});

describe('tier auto', () => {
  it('escalates to origin B5 when the edge top-1 is below min_confidence', async () => {
    const { status, body } = await classify(stack, photo, 'tier=auto&min_confidence=1');
    expect(status, JSON.stringify(body)).toBe(200);
    expectAnswer(body, 'efficientnet-b5', 'auto');
    expect(body.escalated).toBe(true);
    expect(body.degraded ?? false).toBe(false);
    const edge = (body as Body).edge;
    expect(edge?.model).toBe('efficientnet-b0');
    expect(Math.abs((edge?.top1_score ?? Number.NaN) - edgeTop1)).toBeLessThanOrEqual(SCORE_TOLERANCE);
  });

  it('answers from the edge when min_confidence is 0', async () => {
    const { status, body } = await classify(stack, photo, 'tier=auto&min_confidence=0');
    expect(status, JSON.stringify(body)).toBe(200);
    expectAnswer(body, 'efficientnet-b0', 'auto');
    expect(body.escalated ?? false).toBe(false);
    expect(body.degraded ?? false).toBe(false);
    const top1 = (body as Body).predictions?.[0]?.score ?? Number.NaN;
    expect(Math.abs(top1 - edgeTop1)).toBeLessThanOrEqual(SCORE_TOLERANCE);
  });
});

describe('typed client (shared/client) against the stack', () => {
  const client = () => createClient({ baseUrl: stack.edgeUrl, fetch: globalThis.fetch });

  it('classifies, lists models and reports health', async () => {
    const result = await client().classify(photo, 'image/jpeg', { tier: 'fast', top_k: 3 });
    expect(result.model).toBe('efficientnet-b0');
    expect(result.predictions).toHaveLength(3);
    const { models } = await client().models();
    const ids = models.map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining(['efficientnet-b0', 'efficientnet-b1', 'efficientnet-b5', 'efficientnet-b7']),
    );
    expect(models.find((m) => m.id === 'efficientnet-b0')?.placement).toBe('edge');
    expect(models.find((m) => m.id === 'efficientnet-b7')?.placement).toBe('origin');
    expect(await client().health()).toBe(true);
  });

  it('throws ApiClientError with the envelope code on a bad request', async () => {
    const error = await client()
      .classify(photo, 'image/jpeg', { tier: 'fast', top_k: 99 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ApiClientError);
    const apiError = error as ApiClientError;
    expect(apiError.status).toBe(400);
    expect(['invalid_parameter', 'invalid_request']).toContain(apiError.code);
    expect(apiError.requestId).toMatch(/\S/);
  });
});

describe('GET /openapi.json', () => {
  it('validates against the OpenAPI 3.1 schema, its references resolve and it describes POST /v1/classify', async () => {
    const response = await fetch(`${stack.edgeUrl}/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, unknown> & {
      paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    };
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.paths['/v1/classify']?.post?.responses?.['200']).toBeDefined();
    // The schema does not check that local $refs point somewhere; a dangling one breaks every generator.
    for (const ref of collectRefs(doc))
      expect(resolvePointer(doc, ref), `$ref ${ref} resolves`).toBeDefined();
  });
});

describe('demo page in headless Chromium', () => {
  it.skipIf(!chromiumAvailable)(
    'classifies a chosen JPEG with tier fast, then compares edge and origin side by side',
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        await page.goto(`${stack.edgeUrl}/`);
        await page.selectOption('#tier', 'fast');
        await page.setInputFiles('#image', {
          name: 'photo.jpg',
          mimeType: 'image/jpeg',
          buffer: Buffer.from(photo),
        });
        const answer = (tier: string) => page.locator(`.card .answer[data-tier="${tier}"]`);
        await answer('fast').and(page.locator('[data-state="done"]')).waitFor({ timeout: 60_000 });
        expect(await answer('fast').locator('.predictions li').count()).toBe(5);
        expect(await answer('fast').locator('.model').textContent()).toBe('efficientnet-b0');
        expect(await answer('fast').locator('.untrained').isVisible()).toBe(true);
        expect(await page.locator('.envelope').count()).toBe(0);

        await page.check('#compare');
        await page.click('#submit');
        await answer('accurate').and(page.locator('[data-state="done"]')).waitFor({ timeout: 120_000 });
        expect(await answer('accurate').locator('.model').textContent()).toBe('efficientnet-b5');
        expect(await answer('fast').locator('.model').textContent()).toBe('efficientnet-b0');
        expect(await page.locator('.envelope').count()).toBe(0);
      } finally {
        await browser.close();
      }
    },
    240_000,
  );
  if (!chromiumAvailable) console.log(`[e2e] ${CHROMIUM_PATH} is absent: the demo page test is skipped`);
});

describe('busy origin', () => {
  it("accurate relays the origin's 429 queue_full with Retry-After, and shedding leaves the breaker closed", async () => {
    // B5 takes seconds per image on CPU, the edge forwards tier accurate in milliseconds: one runs, one
    // waits, and the rest are shed. More sheds than the breaker's threshold would have opened it if a 429
    // counted as a failure.
    const concurrent = BREAKER_FAILURES + 5;
    const answers = await Promise.all(
      Array.from({ length: concurrent }, () => classify(stack, photo, 'tier=accurate')),
    );
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.every((s) => s === 200 || s === 429),
      JSON.stringify(statuses),
    ).toBe(true);
    const shed = answers.filter((a) => a.status === 429);
    expect(shed.length, JSON.stringify(statuses)).toBeGreaterThanOrEqual(BREAKER_FAILURES);
    expect(answers.some((a) => a.status === 200)).toBe(true);
    for (const { body, headers } of shed) {
      expect((body.error as { code?: string } | undefined)?.code).toBe('queue_full');
      expect(headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    }
    // The breaker is still closed: the next request reaches the origin and is answered by B5.
    const after = await classify(stack, photo, 'tier=accurate');
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expectAnswer(after.body, 'efficientnet-b5', 'accurate');
  }, 180_000);
});

// Last: these kill the origin and bring it back.
describe('origin outage', () => {
  it('auto degrades to the edge answer, max answers 503 with Retry-After, accurate degrades on request', async () => {
    await stack.killOrigin();

    const auto = await classify(stack, photo, 'tier=auto&min_confidence=1');
    expect(auto.status, JSON.stringify(auto.body)).toBe(200);
    expectAnswer(auto.body, 'efficientnet-b0', 'auto');
    expect(auto.body.degraded).toBe(true);
    expect(auto.body.escalated ?? false).toBe(false);
    expect(auto.body.degraded_reason).toEqual(expect.any(String));

    const max = await classify(stack, photo, 'tier=max');
    expect(max.status, JSON.stringify(max.body)).toBe(503);
    expect((max.body.error as { code?: string } | undefined)?.code).toBe('origin_unavailable');
    expect(Number(max.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const accurate = await classify(stack, photo, 'tier=accurate&allow_degraded=true');
    expect(accurate.status, JSON.stringify(accurate.body)).toBe(200);
    expect(accurate.body.degraded).toBe(true);
    expect(accurate.body.model).toBe('efficientnet-b1');

    // A budget the origin's B7 fits (profiles/origin.json p95 16539 ms): B7 is chosen, fails, and the best
    // edge model answers, with the reason.
    const budget = await classify(stack, photo, 'latency_budget_ms=600000');
    expect(budget.status, JSON.stringify(budget.body)).toBe(200);
    expect(budget.body.model).toBe('efficientnet-b1');
    expect(budget.body.degraded).toBe(true);
    expect(budget.body.degraded_reason).toBe('origin_unreachable');
    const selection = budget.body.selection as { reason?: string; budget_met?: boolean } | undefined;
    expect(selection?.reason).toMatch(/^efficientnet-b7 on the origin failed \(origin_unreachable\)/);
    expect(selection?.budget_met).toBe(true);

    const viaClient = await createClient({ baseUrl: stack.edgeUrl, fetch: globalThis.fetch })
      .classify(photo, 'image/jpeg', { tier: 'max' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(viaClient).toBeInstanceOf(ApiClientError);
    expect((viaClient as ApiClientError).code).toBe('origin_unavailable');
    expect((viaClient as ApiClientError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it(
    'opens the breaker after repeated failures and closes it once the restarted origin answers',
    async () => {
      // Failures so far in this isolate: 4 from the test above; a few more make sure the breaker is open.
      let reason: unknown;
      for (let i = 0; i < BREAKER_FAILURES + 1; i++) {
        const { status, body } = await classify(stack, photo, 'tier=auto&min_confidence=1');
        expect(status, JSON.stringify(body)).toBe(200);
        expect(body.degraded).toBe(true);
        reason = body.degraded_reason;
      }
      // An open breaker fails fast without calling the origin, and says so.
      expect(reason).toBe('origin_circuit_open');

      // The probe below is tier auto, answered by B5: the restarted origin needs no B7. It batches, for
      // the batch tests that follow.
      await stack.startOrigin(BATCHING_MODELS, BATCHING_ORIGIN_ENV);
      batchingOrigin = true;
      // After the cooldown a half-open probe reaches the origin, succeeds and closes the breaker.
      const deadline = Date.now() + BREAKER_COOLDOWN_MS + 30_000;
      let last: Awaited<ReturnType<typeof classify>> | undefined;
      while (Date.now() < deadline) {
        last = await classify(stack, photo, 'tier=auto&min_confidence=1');
        if (last.body.escalated === true) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(last?.status, JSON.stringify(last?.body)).toBe(200);
      expect(last?.body.escalated, JSON.stringify(last?.body)).toBe(true);
      expect(last?.body.model).toBe('efficientnet-b5');
      expect(last?.body.degraded ?? false).toBe(false);
      // Closed again: the next request escalates too.
      const next = await classify(stack, photo, 'tier=auto&min_confidence=1');
      expect(next.body.escalated).toBe(true);
    },
    6 * 60_000,
  );
});

// Last: the origin restarted by the breaker test, which batches (B5 only).
describe('POST /v1/classify/batch', () => {
  let images: { bytes: Uint8Array<ArrayBuffer>; type: string }[];
  let scratch: string;

  beforeAll(async () => {
    if (!batchingOrigin) {
      // Run on its own (e.g. with -t): restart the origin as the breaker test would have.
      await stack.killOrigin();
      await stack.startOrigin(BATCHING_MODELS, BATCHING_ORIGIN_ENV);
      batchingOrigin = true;
    }
    const png = new Uint8Array(await sharp(Buffer.from(photo)).resize(240).png().toBuffer());
    images = [
      { bytes: photo, type: 'image/jpeg' },
      { bytes: await generatedJpeg(320, 240), type: 'image/jpeg' },
      { bytes: png, type: 'image/png' },
    ];
    scratch = await mkdtemp(path.join(tmpdir(), 'batch-e2e-'));
  }, BOOT_TIMEOUT_MS);
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  function form(parts: readonly { bytes: Uint8Array<ArrayBuffer>; type: string }[]): FormData {
    const body = new FormData();
    parts.forEach((part, i) => {
      body.append('image', new Blob([part.bytes], { type: part.type }), `image-${i}`);
    });
    return body;
  }

  async function batch(body: FormData, query: string, requestId: string): Promise<BatchResponse> {
    const response = await stack.edge.fetch(`/v1/classify/batch?${query}`, {
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

  const originMetrics = async () => (await fetch(`${stack.originUrl}/metrics`)).text();
  const batches = (t: string) => metricValue(t, 'origin_batch_size_count', { model: 'efficientnet-b5' });
  const batchedImages = (t: string) => metricValue(t, 'origin_batch_size_sum', { model: 'efficientnet-b5' });

  /** The origin's access-log lines for one request id. */
  function originRequests(requestId: string): { path: string }[] {
    return (
      stack
        .originLogs()
        .split('\n')
        .filter((line) => line.includes(`"request_id":"${requestId}"`) && line.includes('"path"'))
        // The origin prefixes its lines ("[origin] {...}").
        .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { path: string })
    );
  }

  it('three uncertain images escalate in one origin call and run as one batch; a broken one fails alone', async () => {
    const broken = { bytes: Uint8Array.from(photo.subarray(0, 200)), type: 'image/jpeg' };
    const id = 'e2e-batch-auto';
    const before = await originMetrics();
    // min_confidence=1: every edge top-1 is below it, so every decodable image escalates. cache=false:
    // the tests above stored the photo's answer for this query, and a hit would never reach the origin.
    const body = await batch(
      form([images[0], broken, images[1], images[2]] as typeof images),
      'tier=auto&min_confidence=1&cache=false',
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
    expect(stack.edge.logs()).toMatch(
      new RegExp(`"msg":"origin batch call","request_id":"${id}"[^\\n]*"images":3`),
    );
    // ...and one model run for the three images.
    expect(batchedImages(after) - batchedImages(before)).toBe(3);
    expect(batches(after) - batches(before)).toBe(1);
  });

  it('a batch answers each image as POST /v1/classify does (origin scores within 1e-5)', async () => {
    // cache=false on both: each answer comes from a model run, not from the other's stored answer.
    const alone = await classify(stack, photo, 'tier=accurate&cache=false');
    expect(alone.status, JSON.stringify(alone.body)).toBe(200);
    const single = ClassifyResponseSchema.parse(alone.body);
    const body = await batch(form(images), 'tier=accurate&cache=false', 'e2e-batch-accurate');
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
    const client = createClient({ baseUrl: stack.edgeUrl, fetch: globalThis.fetch });
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
      [...files, '--json', '--tier', 'fast', '--top-k', '3', '--base-url', stack.edgeUrl],
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

function collectRefs(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) collectRefs(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') into.push(item);
      else collectRefs(item, into);
    }
  }
  return into;
}

/** Resolves a local JSON pointer ("#/components/schemas/X"); undefined when it points nowhere. */
function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!node || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
