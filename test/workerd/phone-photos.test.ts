// Phone photos through POST /v1/classify in real workerd: 12 and 24 MP JPEGs with EXIF orientation 6 are
// answered from the edge on fast (B0) and balanced (B1), decoded at reduced scale; a PNG of the same size
// gets the PNG limit's 413. Untrained factory models: this checks the path, not the predictions.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJpeg, pngHeaderOnly } from '../../infra/bench/images.ts';
import { type BootedWorker, bootWorker } from '../../infra/dev/workerd.ts';
import { testModels } from '../../infra/models/cache.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';

let worker: BootedWorker;

beforeAll(async () => {
  const models = await testModels();
  worker = await bootWorker({ models: [models.b0, models.b1Split], vars: { ALLOW_OPEN_API: '1' } });
});
afterAll(async () => {
  await worker?.dispose();
});

const post = (query: string, body: Uint8Array<ArrayBuffer>, type = 'image/jpeg') =>
  worker.fetch(`/v1/classify${query}`, { method: 'POST', headers: { 'content-type': type }, body });

async function phoneJpeg(width: number, height: number): Promise<Uint8Array<ArrayBuffer>> {
  const jpeg = await sharp(await generatedJpeg(width, height))
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toBuffer();
  return new Uint8Array(jpeg);
}

describe('phone photos at the edge', () => {
  it.each([
    ['12 MP', 4032, 3024, 'fast', 'efficientnet-b0'],
    ['24 MP', 6000, 4000, 'balanced', 'efficientnet-b1'],
  ] as const)('answers a %s JPEG (%ix%i) on %s from the edge', async (_, width, height, tier, model) => {
    const response = await post(`?tier=${tier}`, await phoneJpeg(width, height));
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const body = ClassifyResponseSchema.parse(JSON.parse(text));
    expect(body).toMatchObject({ model, tier });
  });

  it('refuses a 3000x2000 PNG on fast from its header, with the PNG limit in the message', async () => {
    const response = await post('?tier=fast', pngHeaderOnly(3000, 2000), 'image/png');
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('image_too_large');
    expect(body.error.message).toMatch(/PNG exceeds the 2\.0 MP PNG limit/);
  });
});
