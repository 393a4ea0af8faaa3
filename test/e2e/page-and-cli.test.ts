// The playground page (in headless Chromium) and `npm run classify`, both against the real edge Worker in
// workerd with untrained B0/B1 from local R2 and no origin: edge tiers answer, origin tiers give an error
// envelope. An API key is configured, so the page's key field and the CLI's --api-key are exercised too.
// One Chromium serves the page tests, each in its own tab.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CDPSession, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, testPhoto } from '../../infra/bench/images.ts';
import { EXIT_API_ERROR, EXIT_OK, EXIT_USAGE, runClassify } from '../../infra/cli/classify-command.ts';
import { type BootedWorker, bootWorker, REPO_ROOT } from '../../infra/dev/workerd.ts';
import { preoptimizedTestModels } from '../../infra/models/cache.ts';
import { type ClassifyResponse, ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { type Browser, CHROMIUM_PATH, chromiumAvailable, launchChromium } from './browser.ts';

const API_KEY = 'playground-test-key';
/** B0 in workerd is deterministic: the page must show exactly what a direct call answers. */
const SCORE_TOLERANCE = 1e-6;
/** Bar width vs. score × track width, in CSS pixels (layout rounds to fractions of a pixel). */
const WIDTH_TOLERANCE_PX = 1;
/** --bar in edge/web/style.ts, and how far a screenshot pixel may drift from it (antialiasing, colour management). */
const BAR_RGB = [0x25, 0x63, 0xeb] as const;
const COLOUR_TOLERANCE = 12;
const VIEWPORT = { width: 1100, height: 1200 };
const SCALE = 2;

let worker: BootedWorker;
let baseUrl: string;
let photo: Uint8Array<ArrayBuffer>;
let scratch: string;

beforeAll(async () => {
  // The edge models as `npm start` deploys them: split and pre-optimised.
  const [models, shot] = await Promise.all([preoptimizedTestModels(), testPhoto()]);
  photo = shot.bytes;
  scratch = await mkdtemp(path.join(tmpdir(), 'page-cli-'));
  worker = await bootWorker({
    models: [models.b0, models.b1Split],
    // A key is required (fail closed); ALLOW_OPEN_API is set explicitly so the key check, not the
    // absence of keys, decides, whatever the default for open APIs becomes.
    vars: { API_KEYS: API_KEY, ALLOW_OPEN_API: '1' },
  });
  baseUrl = worker.url.toString().replace(/\/$/, '');
});

afterAll(async () => {
  await worker?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function directAnswer(
  image: Uint8Array<ArrayBuffer>,
  type: string,
  tier: string,
): Promise<ClassifyResponse> {
  const response = await worker.fetch(`/v1/classify?tier=${tier}`, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${API_KEY}` },
    body: image,
  });
  const body = await response.text();
  expect(response.status, body).toBe(200);
  return ClassifyResponseSchema.parse(JSON.parse(body));
}

interface FileSpec {
  b64: string;
  name: string;
  type: string;
}

function fileSpec(bytes: Uint8Array, name: string, type: string): FileSpec {
  return { b64: Buffer.from(bytes).toString('base64'), name, type };
}

/** A real drop event with a DataTransfer holding the file, as a drag from the desktop delivers it. */
async function dropFile(page: Page, spec: FileSpec): Promise<void> {
  const dataTransfer = await page.evaluateHandle(({ b64, name, type }) => {
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
    return transfer;
  }, spec);
  await page.dispatchEvent('#drop', 'dragover', { dataTransfer });
  await page.dispatchEvent('#drop', 'drop', { dataTransfer });
}

async function pasteFile(page: Page, spec: FileSpec): Promise<void> {
  await page.evaluate(({ b64, name, type }) => {
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true }));
  }, spec);
}

/** Waits until no answer on the page is pending any more. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      document.querySelectorAll('.answer').length > 0 &&
      document.querySelectorAll('.answer[data-state="pending"]').length === 0,
    undefined,
    { timeout: 60_000 },
  );
}

interface BarBox {
  score: number;
  bar: { x: number; y: number; width: number; height: number };
  track: { x: number; y: number; width: number; height: number };
}

async function barBoxes(page: Page, answer: string): Promise<BarBox[]> {
  return page.locator(answer).evaluate((slot) =>
    Array.from(slot.querySelectorAll<HTMLElement>('.bar')).map((bar) => {
      const box = (node: Element) => {
        const r = node.getBoundingClientRect();
        return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
      };
      return { score: Number(bar.dataset.score), bar: box(bar), track: box(bar.parentElement as Element) };
    }),
  );
}

function expectBarsMatch(boxes: BarBox[], answer: ClassifyResponse): void {
  expect(boxes.map((b) => b.score)).toHaveLength(answer.predictions.length);
  answer.predictions.forEach((p, i) => {
    const box = boxes[i] as BarBox;
    expect(Math.abs(box.score - p.score)).toBeLessThanOrEqual(SCORE_TOLERANCE);
    expect(Math.abs(box.bar.width - p.score * box.track.width)).toBeLessThanOrEqual(WIDTH_TOLERANCE_PX);
  });
}

describe('playground page in headless Chromium', () => {
  if (!chromiumAvailable) console.log(`[page] ${CHROMIUM_PATH} is absent: the playground tests are skipped`);
  let browser: Browser | undefined;
  /** The file's one Chromium, launched by the first test that needs it. */
  const chromium = async (): Promise<Browser> => {
    browser ??= await launchChromium();
    return browser;
  };
  afterAll(async () => {
    await browser?.close();
  });

  it.skipIf(!chromiumAvailable)(
    'drop and paste images, key field, bars matching the scores, compare mode, degraded answer, error envelopes',
    async () => {
      const png = new Uint8Array(
        await sharp(Buffer.from(await generatedJpeg(320, 240)))
          .png()
          .toBuffer(),
      );
      const [photoAnswer, pngAnswer] = await Promise.all([
        directAnswer(photo, 'image/jpeg', 'fast'),
        directAnswer(png, 'image/png', 'fast'),
      ]);
      const { context } = await chromium();
      const page = await context.newPage();
      try {
        // Twice the pixels: untrained models give top-1 scores near 1 %, i.e. short bars.
        const cdp = await context.newCDPSession(page);
        await cdp.send('Emulation.setDeviceMetricsOverride', {
          width: VIEWPORT.width,
          height: VIEWPORT.height,
          deviceScaleFactor: SCALE,
          mobile: false,
        });
        await page.goto(`${baseUrl}/`);
        await page.selectOption('#tier', 'fast');

        // Without the key: the error envelope is shown, code and message.
        await dropFile(page, fileSpec(photo, 'photo.jpg', 'image/jpeg'));
        await settled(page);
        const denied = page.locator('.answer[data-state="error"] .envelope');
        expect(await denied.locator('.code').textContent()).toBe('unauthorized');
        expect(await denied.locator('.message').textContent()).toContain('API key');
        expect(await denied.textContent()).toContain('HTTP 401');

        // With the key (kept in sessionStorage): the same image again, now answered.
        await page.fill('#api-key', API_KEY);
        await page.click('#submit');
        await settled(page);
        const first = '.card:nth-child(1) .answer[data-tier="fast"]';
        expect(await page.locator(first).getAttribute('data-state')).toBe('done');
        expect(await page.locator(`${first} .model`).textContent()).toBe('efficientnet-b0');
        expect(await page.locator(`${first} .why`).textContent()).toContain('edge only');
        expect(await page.locator(`${first} .untrained`).isVisible()).toBe(true);
        expect(await page.locator(`${first} .timings`).textContent()).toMatch(
          /^total [\d.]+ ms:.*decode [\d.]+.*inference [\d.]+/,
        );
        expect(await page.locator(`${first} .meta`).textContent()).toMatch(/request id/);
        expectBarsMatch(await barBoxes(page, first), photoAnswer);

        // A pasted PNG adds a second card on top; the first keeps its answer.
        await pasteFile(page, fileSpec(png, 'pasted.png', 'image/png'));
        await settled(page);
        expect(await page.locator('.card').count()).toBe(2);
        expect(await page.locator('.card img').count()).toBe(2);
        expectBarsMatch(await barBoxes(page, first), pngAnswer);
        expectBarsMatch(await barBoxes(page, '.card:nth-child(2) .answer[data-tier="fast"]'), photoAnswer);
        const single = await screenshot(cdp, 'playground-single.png');
        const singleBars = [
          ...(await barBoxes(page, first)),
          ...(await barBoxes(page, '.card:nth-child(2) .answer[data-tier="fast"]')),
        ];
        // Wide single-column bars: on average several device pixels each, so the check is not vacuous.
        expect(await expectBarsPainted(single, singleBars)).toBeGreaterThan(3 * singleBars.length);

        // Compare mode: both images, edge B0 beside the origin tier, which has no origin here.
        await page.check('#compare');
        await page.click('#submit');
        await settled(page);
        for (const n of [1, 2]) {
          const edge = `.card:nth-child(${n}) .answer[data-tier="fast"]`;
          const origin = `.card:nth-child(${n}) .answer[data-tier="accurate"]`;
          expect(await page.locator(edge).getAttribute('data-state')).toBe('done');
          expect(await page.locator(origin).getAttribute('data-state')).toBe('error');
          expect(await page.locator(`${origin} .code`).textContent()).toMatch(/unavailable/);
          // Side by side: the origin column starts to the right of the edge column, on the same row.
          const [e, o] = await Promise.all([
            page.locator(edge).boundingBox(),
            page.locator(origin).boundingBox(),
          ]);
          expect(o?.x ?? 0).toBeGreaterThan((e?.x ?? 0) + (e?.width ?? 0) - 1);
          expect(Math.abs((o?.y ?? 0) - (e?.y ?? 0))).toBeLessThan(2);
        }

        const compared = await screenshot(cdp, 'playground-compare.png');
        await expectBarsPainted(compared, await barBoxes(page, first));

        // Tier auto with no origin: B0 is unsure (untrained), the origin is wanted, the edge answers degraded.
        await page.uncheck('#compare');
        await page.selectOption('#tier', 'auto');
        await page.click('#submit');
        await settled(page);
        const auto = '.card:nth-child(1) .answer[data-tier="auto"]';
        expect(
          await page.locator(auto).getAttribute('data-state'),
          (await page.locator(auto).textContent()) ?? '',
        ).toBe('done');
        expect(await page.locator(`${auto} .model`).textContent()).toBe('efficientnet-b0');
        expect(await page.locator(`${auto} .why`).textContent()).toBe(
          'The origin was wanted, but the edge answered.',
        );
        expect(await page.locator(`${auto} .degraded`).textContent()).toMatch(/^Degraded: \S+/);
        expectBarsMatch(await barBoxes(page, auto), pngAnswer);

        // The key survives a reload within the tab, and nothing is classified until an image comes.
        await page.reload();
        expect(await page.inputValue('#api-key')).toBe(API_KEY);
        expect(await page.locator('.card').count()).toBe(0);
      } finally {
        await page.close();
      }
    },
  );

  it.skipIf(!chromiumAvailable)(
    'picks three images: one batch call, three answers, the broken one its own error',
    async () => {
      const small = await generatedJpeg(200, 150);
      const files = [
        { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(photo) },
        { name: 'gradient.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(small) },
        // Not decodable: the page must show its own error while the others answer.
        { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(photo.subarray(0, 200)) },
      ];
      // A fresh tab: its sessionStorage holds no key yet.
      const page = await (await chromium()).context.newPage();
      try {
        const calls: string[] = [];
        page.on('request', (request) => {
          if (request.method() === 'POST') calls.push(new URL(request.url()).pathname);
        });
        await page.goto(`${baseUrl}/`);
        await page.fill('#api-key', API_KEY);
        await page.selectOption('#tier', 'fast');
        await page.setInputFiles('#image', files);
        await page.waitForFunction(
          () =>
            document.querySelectorAll('.answer').length === 3 &&
            document.querySelectorAll('.answer[data-state="pending"]').length === 0,
          undefined,
          { timeout: 60_000 },
        );
        expect(calls).toEqual(['/v1/classify/batch']);
        // Cards are prepended: the last file added is the first card.
        const cards = await page.locator('.card').evaluateAll((nodes) =>
          nodes.map((card) => ({
            name: card.querySelector('figcaption')?.textContent ?? '',
            state: (card.querySelector('.answer') as HTMLElement | null)?.dataset.state,
            model: card.querySelector('.model')?.textContent ?? null,
            code: card.querySelector('.envelope .code')?.textContent ?? null,
            bars: card.querySelectorAll('.bar').length,
          })),
        );
        const byName = Object.fromEntries(cards.map((card) => [card.name.split(' ')[0], card]));
        expect(byName['photo.jpg']).toMatchObject({ state: 'done', model: 'efficientnet-b0', bars: 5 });
        expect(byName['gradient.jpg']).toMatchObject({ state: 'done', model: 'efficientnet-b0', bars: 5 });
        expect(byName['broken.jpg']).toMatchObject({ state: 'error', code: 'invalid_image', bars: 0 });
      } finally {
        await page.close();
      }
    },
  );
});

/**
 * A screenshot of the viewport at SCALE device pixels per CSS pixel, also written to the temporary
 * directory for a look by eye. Taken through CDP: Playwright's own screenshot resets the scale to the
 * context's.
 */
async function screenshot(cdp: CDPSession, name: string): Promise<Buffer> {
  const png = Buffer.from((await cdp.send('Page.captureScreenshot', { format: 'png' })).data, 'base64');
  const file = path.join(tmpdir(), name);
  await writeFile(file, png);
  console.log(`[page] screenshot: ${file}`);
  return png;
}

/**
 * The screenshot really shows each bar: every device pixel along the bar's middle row has the bar colour,
 * and none of the track after its end has it. Boxes are in CSS pixels; the screenshot is SCALE times that.
 * Returns how many bar pixels were checked.
 */
async function expectBarsPainted(png: Buffer, boxes: BarBox[]): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(info.width).toBe(VIEWPORT.width * SCALE);
  const isBar = (x: number, y: number) => {
    const i = (y * info.width + x) * 3;
    return BAR_RGB.every((c, k) => Math.abs((data[i + k] ?? -999) - c) <= COLOUR_TOLERANCE);
  };
  let barPixels = 0;
  for (const { bar, track } of boxes) {
    const y = Math.round((bar.y + bar.height / 2) * SCALE);
    // Inner pixels only: the first and last column may be antialiased.
    const [start, end] = [Math.ceil(bar.x * SCALE) + 1, Math.floor((bar.x + bar.width) * SCALE) - 1];
    for (let x = start; x < end; x++) {
      expect(isBar(x, y), `bar pixel ${x},${y}`).toBe(true);
      barPixels++;
    }
    for (let x = end + 3; x < Math.floor((track.x + track.width) * SCALE) - 1; x++)
      expect(isBar(x, y), `track pixel ${x},${y}`).toBe(false);
  }
  return barPixels;
}

describe('npm run classify', () => {
  async function cli(args: string[], env: Record<string, string> = {}) {
    let stdout = '';
    let stderr = '';
    const code = await runClassify(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env,
    });
    return { code, stdout, stderr };
  }

  it('prints a table per image, with the key from the environment', async () => {
    const file = path.join(scratch, 'photo.jpg');
    await writeFile(file, photo);
    const expected = await directAnswer(photo, 'image/jpeg', 'balanced');
    const { code, stdout, stderr } = await cli([file, '--tier', 'balanced', '--base-url', baseUrl], {
      CLASSIFY_API_KEY: API_KEY,
    });
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(`${file}: efficientnet-b1 (tier balanced, edge)`);
    expect(stdout).toContain('untrained weights');
    const rows = stdout.split('\n').filter((line) => /^\s+\d+\. /.test(line));
    expect(rows).toHaveLength(5);
    expected.predictions.forEach((p, i) => {
      expect(rows[i]).toContain(p.label);
      expect(rows[i]).toContain(`${(p.score * 100).toFixed(1)}%`);
    });
  });

  it('prints JSON for several images in order, with --top-k', async () => {
    const jpg = path.join(scratch, 'a.jpg');
    const png = path.join(scratch, 'b.png');
    const pngBytes = new Uint8Array(await sharp(Buffer.from(photo)).resize(200).png().toBuffer());
    await Promise.all([writeFile(jpg, photo), writeFile(png, pngBytes)]);
    const expected = await Promise.all([
      directAnswer(photo, 'image/jpeg', 'fast'),
      directAnswer(pngBytes, 'image/png', 'fast'),
    ]);
    const { code, stdout } = await cli([
      jpg,
      png,
      '--json',
      '--tier=fast',
      '--top-k',
      '3',
      '--api-key',
      API_KEY,
      '--base-url',
      baseUrl,
    ]);
    expect(code).toBe(EXIT_OK);
    const parsed = JSON.parse(stdout) as { file: string; response: unknown }[];
    expect(parsed.map((entry) => entry.file)).toEqual([jpg, png]);
    parsed.forEach((entry, i) => {
      const response = ClassifyResponseSchema.parse(entry.response);
      expect(response.model).toBe('efficientnet-b0');
      expect(response.predictions).toHaveLength(3);
      response.predictions.forEach((p, k) => {
        expect(p.index).toBe(expected[i]?.predictions[k]?.index);
        expect(Math.abs(p.score - (expected[i]?.predictions[k]?.score ?? Number.NaN))).toBeLessThanOrEqual(
          SCORE_TOLERANCE,
        );
      });
    });
  });

  it('prints the API error envelope as code and message and exits 1', async () => {
    const file = path.join(scratch, 'photo.jpg');
    await writeFile(file, photo);
    const denied = await cli([file, '--base-url', baseUrl, '--api-key', 'wrong']);
    expect(denied.code).toBe(EXIT_API_ERROR);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(
      /^.*photo\.jpg: error unauthorized: Invalid API key\. \(HTTP 401, request \S+\)\n$/,
    );

    // No origin behind this edge: the origin tier fails with its own envelope, also exit 1.
    const noOrigin = await cli([file, '--tier', 'accurate', '--base-url', baseUrl, '--api-key', API_KEY]);
    expect(noOrigin.code).toBe(EXIT_API_ERROR);
    expect(noOrigin.stderr).toMatch(/error \w*unavailable: .+ \(HTTP 503/);
  });

  it('rejects bad usage with exit 2 before sending anything', async () => {
    const file = path.join(scratch, 'photo.jpg');
    await writeFile(file, photo);
    const notImage = path.join(scratch, 'notes.txt');
    await writeFile(notImage, 'not an image');
    const cases: [string[], RegExp][] = [
      [[], /no image given/],
      [['ftp://example.com/cat.jpg'], /only http\(s\) URLs/],
      [[file, 'file:///etc/passwd'], /only http\(s\) URLs/],
      [[path.join(scratch, 'missing.jpg')], /missing\.jpg: no such file/],
      [[notImage], /not a JPEG, PNG or WebP image/],
      [[file, '--tier', 'slow'], /--tier must be one of/],
      [[file, '--top-k', '0'], /--top-k must be an integer from 1 to 20/],
      [[file, '--frobnicate'], /Unknown option '--frobnicate'/],
      [[file, '--base-url', 'ftp://x'], /--base-url must be an http\(s\) URL/],
    ];
    for (const [args, message] of cases) {
      // An unreachable port: if anything were sent, the result would be exit 1, not 2.
      const { code, stdout, stderr } = await cli(args, { CLASSIFY_BASE_URL: 'http://127.0.0.1:9' });
      expect(code, args.join(' ')).toBe(EXIT_USAGE);
      expect(stdout).toBe('');
      expect(stderr).toMatch(message);
    }
  });

  it('runs as `npm run -s classify` with real exit codes', async () => {
    const file = path.join(scratch, 'photo.jpg');
    await writeFile(file, photo);
    const run = (args: string[]) =>
      promisify(execFile)('npm', ['run', '-s', 'classify', '--', ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, CLASSIFY_API_KEY: API_KEY, CLASSIFY_BASE_URL: baseUrl },
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          stdout: error.stderr,
        }),
      );
    const [ok, usage] = await Promise.all([
      run([file, '--tier', 'fast']),
      run([path.join(scratch, 'missing.jpg')]),
    ]);
    expect(ok.code).toBe(EXIT_OK);
    expect(ok.stdout).toContain('efficientnet-b0 (tier fast, edge)');
    expect(usage.code).toBe(EXIT_USAGE);
    expect(usage.stdout).toContain('no such file');
  });
});
