import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildModelsDir,
  classify,
  expectError,
  expectV2Error,
  solidImage,
  startTestOrigin,
  type TestOrigin,
} from './helpers.ts';

// Admission before work, against a real origin with the production limits (40 MP, 10 MiB images, 32 MiB
// bodies). `preparer.stats().started` counts images handed to a decoder: it proves what was not decoded.

const MiB = 1024 * 1024;
let origin: TestOrigin;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const models = await buildModelsDir(['b0']);
  cleanup = models.cleanup;
  origin = await startTestOrigin(models.dir, { ORIGIN_BATCH_WINDOW_MS: '0' });
});

afterAll(async () => {
  await origin?.close();
  await cleanup?.();
});

const decodes = () => origin.preparer.stats().started;

const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${origin.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

describe('deadline before decoding', () => {
  it('answers x-deadline-ms: 0 with a 40 MP image with 504 without decoding it', async () => {
    const huge = await solidImage('png', 8000, 5000);
    const before = decodes();
    await expectError(
      await classify(origin.url, huge, 'model=efficientnet-b0', { 'x-deadline-ms': '0' }),
      504,
      'deadline_exceeded',
    );
    const json = JSON.stringify({ image: huge.toString('base64'), model: 'efficientnet-b0' });
    await expectError(
      await postJson('/v1/classify', json, { 'x-deadline-ms': '0' }),
      504,
      'deadline_exceeded',
    );
    expect(decodes()).toBe(before);
    // The counter does move for an image that is admitted.
    expect((await classify(origin.url, await solidImage('png'))).status).toBe(200);
    expect(decodes()).toBe(before + 1);
  });
});

describe('base64 images', () => {
  it('refuses a 32 MiB base64 body from its length, without decoding it', async () => {
    const wrapper = JSON.stringify({ image: '', model: 'efficientnet-b0' });
    const image = 'A'.repeat(32 * MiB - wrapper.length);
    const body = JSON.stringify({ image, model: 'efficientnet-b0' });
    expect(body.length).toBe(32 * MiB);
    const before = decodes();
    const message = (await expectError(await postJson('/v1/classify', body), 413, 'image_too_large')).error
      .message;
    expect(message).toMatch(/base64 image .* the limit is 10485760/);
    expect(decodes()).toBe(before);
  });

  it('decodes valid base64 with line breaks; refuses what is not base64', async () => {
    const png = (await solidImage('png')).toString('base64');
    const wrapped = png.replace(/(.{76})/g, '$1\r\n');
    const ok = await postJson('/v1/classify', JSON.stringify({ image: wrapped, model: 'efficientnet-b0' }));
    expect(ok.status, await ok.clone().text()).toBe(200);
    const refused = await expectError(
      await postJson(
        '/v1/classify',
        JSON.stringify({ image: `${png.slice(0, 40)}!!`, model: 'efficientnet-b0' }),
      ),
      400,
      'invalid_request',
    );
    expect(refused.error.message).toContain('base64');
  });
});

describe('KServe v2 input', () => {
  const infer = (input: unknown) =>
    postJson('/v2/models/efficientnet-b0/infer', typeof input === 'string' ? input : JSON.stringify(input));
  const base = { name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224] };

  it('refuses data nested 20,000 deep with 400, not a crash', async () => {
    const depth = 20_000;
    const data = `${'['.repeat(depth)}0${']'.repeat(depth)}`;
    const body = `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,224,224],"data":${data}}]}`;
    const message = await expectV2Error(await infer(body), 400, 'invalid_parameter');
    expect(message).toContain('nested deeper than shape');
    // The origin is still serving.
    expect((await fetch(`${origin.url}/v2/health/live`)).status).toBe(200);
  });

  it('refuses a huge shape from the shape alone, and data with more values than its shape', async () => {
    const message = await expectV2Error(
      await infer({ inputs: [{ ...base, shape: [1_000_000, 3, 224, 224], data: [0] }] }),
      400,
      'invalid_parameter',
    );
    expect(message).toContain('more than a request body can carry');
    const extra = await expectV2Error(
      await infer({ inputs: [{ ...base, data: new Array(3 * 224 * 224 + 1).fill(0) }] }),
      400,
      'invalid_parameter',
    );
    expect(extra).toContain('more than the 150528 values');
  });

  it('accepts data nested as its shape, and refuses non-numbers and a wrong datatype first', async () => {
    const nested = [
      Array.from({ length: 3 }, () => Array.from({ length: 224 }, () => new Array(224).fill(0.5))),
    ];
    expect((await infer({ inputs: [{ ...base, data: nested }] })).status).toBe(200);
    await expectV2Error(await infer({ inputs: [{ ...base, data: [[['x']]] }] }), 400, 'invalid_parameter');
    // The datatype is checked before data is looked at.
    const message = await expectV2Error(
      await infer({ inputs: [{ ...base, datatype: 'BYTES', data: 'x'.repeat(1000) }] }),
      400,
      'invalid_parameter',
    );
    expect(message).toContain('datatype');
  });
});
