// Every /v2 response of a real origin, success and error, validated against the Open Inference Protocol's
// REST spec (../shared/specs/open_inference_rest.yaml, components.schemas) with ajv.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ERROR_CODE_HEADER } from '../../gpu-origin/http/open-inference-error.ts';
import { REPO_ROOT } from '../../infra/dev/workerd.ts';
import { buildModelsDir, startTestOrigin, type TestOrigin } from './helpers.ts';

const SPEC = path.resolve(REPO_ROOT, '../shared/specs/open_inference_rest.yaml');
const present = existsSync(SPEC);
if (!present) console.log(`skipping the Open Inference Protocol conformance test: ${SPEC} is absent`);

let origin: TestOrigin;
let cleanup: () => Promise<void>;
let schema: (name: string) => ValidateFunction;

beforeAll(async () => {
  if (!present) return;
  const spec = parse(readFileSync(SPEC, 'utf8')) as object;
  // OpenAPI 3.0 schemas are JSON Schema plus annotations (title, x-examples) that strict mode refuses.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema(spec, 'oip');
  schema = (name) => {
    const validate = ajv.getSchema(`oip#/components/schemas/${name}`);
    if (!validate) throw new Error(`the spec has no components.schemas.${name}`);
    return validate;
  };
  const models = await buildModelsDir(['b0']);
  cleanup = models.cleanup;
  origin = await startTestOrigin(models.dir, {});
});
afterAll(async () => {
  await origin?.close();
  await cleanup?.();
});

async function expectConforms(
  response: Response,
  status: number,
  schemaName: string,
): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body).slice(0, 300)).toBe(status);
  const validate = schema(schemaName);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
  return body;
}

/** An error under /v2: the spec's { error: string }, our code in a header, our status. */
async function expectSpecError(response: Response, status: number, code: string, schemaName: string) {
  expect(response.headers.get(ERROR_CODE_HEADER)).toBe(code);
  const body = await expectConforms(response, status, schemaName);
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  expect(body.error).not.toBe('');
}

const infer = (body: unknown, model = 'efficientnet-b0') =>
  fetch(`${origin.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe.skipIf(!present)('Open Inference Protocol REST spec', () => {
  it('server metadata and its error', async () => {
    await expectConforms(await fetch(`${origin.url}/v2`), 200, 'metadata_server_response');
    await expectSpecError(
      await fetch(`${origin.url}/v2/nothing/here`),
      404,
      'not_found',
      'metadata_server_error_response',
    );
  });

  it('model metadata and its error', async () => {
    const meta = await fetch(`${origin.url}/v2/models/efficientnet-b0`);
    await expectConforms(meta, 200, 'metadata_model_response');
    await expectSpecError(
      await fetch(`${origin.url}/v2/models/efficientnet-b9`),
      404,
      'not_found',
      'metadata_model_error_response',
    );
    await expectSpecError(
      await fetch(`${origin.url}/v2/models/efficientnet-b9/ready`),
      404,
      'not_found',
      'metadata_model_error_response',
    );
  });

  it('inference and every kind of refused request', async () => {
    const n = 3 * 224 * 224;
    const input = { name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: new Array(n).fill(0.25) };
    const ok = await expectConforms(await infer({ id: 'x', inputs: [input] }), 200, 'inference_response');
    expect(ok).toMatchObject({ model_name: 'efficientnet-b0', id: 'x' });

    const refusals: [unknown, number, string][] = [
      ['{"inputs": ', 400, 'invalid_request'],
      [{ inputs: [] }, 400, 'invalid_request'],
      [{ inputs: [{ ...input, data: 'x' }] }, 400, 'invalid_parameter'],
      [{ inputs: [{ ...input, shape: [1, 3, 64, 64] }] }, 400, 'invalid_parameter'],
      [{ inputs: [{ ...input, datatype: 'INT8' }] }, 400, 'invalid_parameter'],
      [{ inputs: [{ ...input, data: [0] }] }, 400, 'invalid_parameter'],
      [{ inputs: [input], outputs: [{ name: 'nope' }] }, 400, 'invalid_parameter'],
    ];
    for (const [body, status, code] of refusals)
      await expectSpecError(await infer(body), status, code, 'inference_error_response');
    await expectSpecError(
      await infer({ inputs: [] }, 'efficientnet-b9'),
      404,
      'not_found',
      'inference_error_response',
    );
    const badDeadline = await fetch(`${origin.url}/v2/models/efficientnet-b0/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-deadline-ms': 'soon' },
      body: JSON.stringify({ inputs: [input] }),
    });
    await expectSpecError(badDeadline, 400, 'invalid_parameter', 'inference_error_response');
  });

  it('keeps our envelope outside /v2', async () => {
    const response = await fetch(`${origin.url}/v1/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
