// latency_budget_ms refusals in process, through app.request(): each is a 400 invalid_parameter decided
// from the query alone, before any image is decoded or model run (the compute here fails the test if it is
// reached). Choosing by budget runs in real workerd: test/workerd/classify.test.ts without an origin,
// test/e2e/stack.test.ts with one that is down.
import { describe, expect, it } from 'vitest';
import { createEdgeApp, type EdgeCompute } from '../../edge/app.ts';
import { generatedJpeg } from '../../infra/bench/images.ts';
import { ErrorEnvelopeSchema } from '../../shared/api/errors.ts';

const unreachable = (what: string) => () => {
  throw new Error(`${what} was reached for a request that should have been refused first`);
};

const compute: EdgeCompute = {
  decode: unreachable('decode'),
  runModel: unreachable('runModel'),
  isLoaded: () => false,
  weightsOf: async () => undefined,
};
const app = createEdgeApp(compute);
const ENV = { ALLOW_OPEN_API: '1' };
const jpeg = await generatedJpeg(64, 48);

describe('latency_budget_ms bad input', () => {
  const cases: [string, RegExp][] = [
    ['?latency_budget_ms=0', /latency_budget_ms/],
    ['?latency_budget_ms=600001', /latency_budget_ms/],
    ['?latency_budget_ms=abc', /latency_budget_ms/],
    ['?latency_budget_ms=1.5', /latency_budget_ms/],
    ['?latency_budget_ms=100&tier=fast', /tier=fast/],
    ['?latency_budget_ms=100&tier=max', /tier=max/],
    ['?latency_budget_ms=100&model=efficientnet-b0', /either latency_budget_ms or model/],
  ];
  for (const [query, message] of cases)
    it(`${query} is a 400 invalid_parameter`, async () => {
      const response = await app.request(
        `/v1/classify${query}`,
        { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: jpeg },
        ENV,
      );
      expect(response.status).toBe(400);
      const envelope = ErrorEnvelopeSchema.parse(await response.json());
      expect(envelope.error.code).toBe('invalid_parameter');
      expect(envelope.error.message).toMatch(message);
    });

  it('documents the parameter and the selection in the generated OpenAPI', async () => {
    const doc = JSON.stringify(await (await app.request('/openapi.json', {}, ENV)).json());
    for (const field of ['latency_budget_ms', 'budget_met', 'expected_ms']) expect(doc).toContain(field);
  });
});
