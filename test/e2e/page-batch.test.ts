// The playground sends several images in one POST /v1/classify/batch call (per tier) and shows one answer
// per image, in headless Chromium against the real edge Worker in workerd (untrained B0/B1, no origin).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, testPhoto } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from './browser.ts';

let worker: BootedWorker;
let files: { name: string; mimeType: string; buffer: Buffer }[];

beforeAll(async () => {
  const [models, photo, small] = await Promise.all([testModels(), testPhoto(), generatedJpeg(200, 150)]);
  files = [
    { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(photo.bytes) },
    { name: 'gradient.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(small) },
    // Not decodable: the page must show its own error while the others answer.
    { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(photo.bytes.subarray(0, 200)) },
  ];
  worker = await bootWorker({ models: [models.b0, models.b1Split], vars: { ALLOW_OPEN_API: '1' } });
});

afterAll(async () => {
  await worker?.dispose();
});

describe('playground with several images', () => {
  if (!chromiumAvailable) console.log(`[page] ${CHROMIUM_PATH} is absent: the playground test is skipped`);

  it.skipIf(!chromiumAvailable)(
    'picks three images: one batch call, three answers, the broken one its own error',
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        const calls: string[] = [];
        page.on('request', (request) => {
          if (request.method() === 'POST') calls.push(new URL(request.url()).pathname);
        });
        await page.goto(worker.url.toString());
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
        await browser.close();
      }
    },
  );
});
