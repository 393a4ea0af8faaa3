// `npm run classify -- <url>`: the command sends a URL as image_url through the typed client, to the edge
// app served over real HTTP (@hono/node-server) in process, which fetches it from a local server. The
// edge's decoding and inference are fakes (as in edge-app.test.ts); the CLI, client, HTTP and fetch are real.

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEdgeApp } from '../../edge/app.ts';
import { generatedJpeg } from '../../infra/bench/images.ts';
import { EXIT_API_ERROR, EXIT_OK, EXIT_USAGE, runClassify } from '../../infra/cli/classify-command.ts';
import { fakeCompute, logitsFavouring } from '../support/fake-compute.ts';
import { type ImageUrlServer, startImageUrlServer } from '../support/image-url-server.ts';

const KEY = 'cli-key';
const ENV = { API_KEYS: KEY, IMAGE_URL_UNSAFE_TEST_LOOPBACK: '1', IMAGE_URL_TIMEOUT_MS: '2000' };

const compute = fakeCompute({ logits: logitsFavouring(281) });

let images: ImageUrlServer;
let edge: ReturnType<typeof serve>;
let baseUrl: string;

beforeAll(async () => {
  images = await startImageUrlServer(await generatedJpeg(320, 240));
  const app = createEdgeApp(compute);
  await new Promise<void>((resolve) => {
    edge = serve({ fetch: (request) => app.fetch(request, ENV), hostname: '127.0.0.1', port: 0 }, () =>
      resolve(),
    );
  });
  baseUrl = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => edge?.close(resolve));
  await images?.close();
});

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runClassify([...args, '--base-url', baseUrl, '--api-key', KEY], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
  });
  return { code, stdout, stderr };
}

describe('classify CLI with URLs', () => {
  it('classifies a URL: the service fetched it', async () => {
    const url = images.url('/image.jpg');
    const before = images.requests.length;
    const { code, stdout, stderr } = await cli([url, '--tier', 'fast', '--top-k', '2', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    const [outcome] = JSON.parse(stdout) as {
      file: string;
      response: { predictions: { index: number }[] };
    }[];
    expect(outcome?.file).toBe(url);
    expect(outcome?.response.predictions.map((p) => p.index)[0]).toBe(281);
    expect(outcome?.response.predictions).toHaveLength(2);
    expect(images.requests.slice(before)).toEqual(['/image.jpg']);
  });

  it("prints the service's refusal of a URL and exits 1; the other images still answer", async () => {
    const { code, stdout, stderr } = await cli([
      'https://169.254.169.254/latest/meta-data/',
      images.url('/image.jpg'),
      '--tier',
      'fast',
    ]);
    expect(code).toBe(EXIT_API_ERROR);
    expect(stderr).toMatch(
      /^https:\/\/169\.254\.169\.254\/latest\/meta-data\/: error url_forbidden: .*metadata.*\(HTTP 400/,
    );
    expect(stdout).toMatch(/image\.jpg: efficientnet-b0/);
  });

  it('refuses other schemes as usage errors before sending anything', async () => {
    for (const arg of ['ftp://example.com/cat.jpg', 'file:///etc/passwd']) {
      const { code, stderr } = await cli([arg]);
      expect(code, arg).toBe(EXIT_USAGE);
      expect(stderr).toMatch(/only http\(s\) URLs/);
    }
  });
});
