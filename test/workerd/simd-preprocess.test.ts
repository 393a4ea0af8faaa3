import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMinSideFor } from '../../edge/image/edge-limits.ts';
import { testPhoto } from '../../infra/bench/images.ts';
import { startDecodeWorker } from '../../infra/dev/workerd.ts';
import { preprocessFor } from '../../shared/catalog/models.ts';
import type { PreprocessSpec } from '../../shared/preprocess/index.ts';

// The edge's WebAssembly SIMD preprocessing, run where it is deployed (workerd, the .wasm imported as a
// module), against shared/preprocess's JavaScript in the same Worker on the same decoded pixels: the
// tensors must be identical (tolerance: none). test/unit/simd-preprocess.test.ts covers the shapes.

let worker: Awaited<ReturnType<typeof startDecodeWorker>>;

beforeAll(async () => {
  worker = await startDecodeWorker();
});

afterAll(async () => {
  await worker?.dispose();
});

async function tensor(body: Uint8Array, spec: PreprocessSpec, minSide: number, impl?: 'edge') {
  const query = new URLSearchParams({ spec: JSON.stringify(spec), minSide: String(minSide) });
  if (impl) query.set('impl', impl);
  const res = await worker.fetch(`http://test/preprocess?${query}`, { method: 'POST', body });
  expect(res.status, await res.clone().text()).toBe(200);
  return new Float32Array(await res.arrayBuffer());
}

async function expectSameInWorkerd(body: Uint8Array, spec: PreprocessSpec, minSide: number) {
  const edge = await tensor(body, spec, minSide, 'edge');
  const shared = await tensor(body, spec, minSide);
  expect(edge.length).toBe(3 * spec.cropSize * spec.cropSize);
  expect(shared.length).toBe(edge.length);
  expect(
    edge.findIndex((v, i) => !Object.is(v, shared[i])),
    'first differing value',
  ).toBe(-1);
}

describe('edge preprocessing in workerd', () => {
  it('equals shared/preprocess for B0 and B1 on the 1 MP photo (decoded at 5/8 and 6/8)', async () => {
    const photo = await sharp((await testPhoto()).bytes)
      .resize(1155, 866, { fit: 'fill' })
      .jpeg({ quality: 90 })
      .toBuffer();
    for (const variant of ['b0', 'b1'] as const) {
      const spec = preprocessFor(variant, 'timm');
      await expectSameInWorkerd(new Uint8Array(photo), spec, decodeMinSideFor(`efficientnet-${variant}`));
    }
  });

  it('equals shared/preprocess on a JPEG turned upright from EXIF orientation 6', async () => {
    const jpeg = await sharp((await testPhoto()).bytes)
      .resize(640, 427, { fit: 'fill' })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 85 })
      .toBuffer();
    await expectSameInWorkerd(new Uint8Array(jpeg), preprocessFor('b1', 'tf'), 544);
  });

  it('equals shared/preprocess on an RGBA PNG (decoded to 4 channels)', async () => {
    const png = await sharp((await testPhoto()).bytes)
      .resize(301, 203, { fit: 'fill' })
      .ensureAlpha(0.5)
      .png()
      .toBuffer();
    await expectSameInWorkerd(new Uint8Array(png), preprocessFor('b0', 'timm'), 512);
  });
});
