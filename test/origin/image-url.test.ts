// image_url on the origin. In process: the name check the edge cannot make (every resolved address
// through the shared policy) and the pinned connection (one lookup per hop, the socket goes to the checked
// address: a resolver that would answer differently the second time never gets asked). Over HTTP: a real
// origin (factory-built B0 on CPU) classifying a URL from a local server, and its refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../gpu-origin/config/config.ts';
import {
  fetchOriginImageUrl,
  type ResolvedAddress,
  type Resolver,
} from '../../gpu-origin/image-url/fetch.ts';
import { ClassifyResponseSchema } from '../../shared/api/classify.ts';
import { ApiError } from '../../shared/http/errors.ts';
import { STRICT_URL_POLICY, type UrlPolicy } from '../../shared/net/url-policy.ts';
import { type ImageUrlServer, startImageUrlServer } from '../support/image-url-server.ts';
import { buildModelsDir, expectError, solidImage, startTestOrigin, type TestOrigin } from './helpers.ts';

const TEST_LOOPBACK: UrlPolicy = { ...STRICT_URL_POLICY, unsafeTestLoopback: true };
const MAX_BYTES = 300_000;
const TIMEOUT_MS = 600;

let server: ImageUrlServer;
let port: string;
let image: Buffer;

beforeAll(async () => {
  image = await solidImage('jpeg', 96, 64);
  server = await startImageUrlServer(image);
  port = new URL(server.origin).port;
});
afterAll(() => server?.close());

/** A resolver over a fixed table, counting its calls; names outside it do not exist. */
function tableResolver(table: Record<string, ResolvedAddress[][]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    const answers = table[host] ?? [[]];
    const answer = answers[Math.min(calls.filter((h) => h === host).length, answers.length - 1)] ?? [];
    calls.push(host);
    return answer;
  };
  return Object.assign(resolve, { calls });
}
const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe('settings', () => {
  const base = { ORIGIN_ALLOW_UNSIGNED: 'true' };
  it('reads the ORIGIN_IMAGE_URL_* settings; strict by default', () => {
    expect(parseConfig(base).imageUrl).toEqual({ policy: STRICT_URL_POLICY, timeoutMs: 5000 });
    expect(
      parseConfig({
        ...base,
        ORIGIN_IMAGE_URL_ALLOW_HOSTS: 'images.example.com, *.cdn.example.net',
        ORIGIN_IMAGE_URL_DENY_HOSTS: 'bad.cdn.example.net',
        ORIGIN_IMAGE_URL_ALLOW_PORTS: '8443',
        ORIGIN_IMAGE_URL_TIMEOUT_MS: '2500',
        ORIGIN_IMAGE_URL_UNSAFE_TEST_LOOPBACK: 'true',
      }).imageUrl,
    ).toEqual({
      policy: {
        allowHosts: [{ exact: 'images.example.com' }, { suffix: '.cdn.example.net' }],
        denyHosts: [{ exact: 'bad.cdn.example.net' }],
        allowPorts: [8443],
        unsafeTestLoopback: true,
      },
      timeoutMs: 2500,
    });
  });

  it.each([
    ['ORIGIN_IMAGE_URL_ALLOW_HOSTS', 'https://images.example.com'],
    ['ORIGIN_IMAGE_URL_DENY_HOSTS', '*'],
    ['ORIGIN_IMAGE_URL_ALLOW_PORTS', '0'],
    ['ORIGIN_IMAGE_URL_UNSAFE_TEST_LOOPBACK', 'yes'],
  ])('a bad %s stops the service', (name, value) => {
    expect(() => parseConfig({ ...base, [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, [name]: value })).toThrow(new RegExp(name));
  });
});

describe('resolution and pinning (in process)', () => {
  it('connects to the one checked address: a rebinding second answer is never asked for', async () => {
    // A *.localhost name is what the test switch lets through over http:; it still goes through the
    // resolver. First answer loopback (allowed by the switch), any later one a metadata address.
    const resolve = tableResolver({ 'images.localhost': [[v4('127.0.0.1')], [v4('169.254.169.254')]] });
    const before = server.requests.length;
    const bytes = await fetchOriginImageUrl(`http://images.localhost:${port}/image.jpg`, {
      policy: TEST_LOOPBACK,
      maxBytes: MAX_BYTES,
      timeoutMs: 5000,
      resolve,
    });
    expect(Buffer.from(bytes).equals(image)).toBe(true);
    expect(resolve.calls).toEqual(['images.localhost']);
    expect(server.requests.slice(before)).toEqual(['/image.jpg']);
  });

  it.each([
    ['metadata', [v4('169.254.169.254')], /resolves to 169\.254\.169\.254.*metadata/],
    [
      'any private address among public ones',
      [v4('93.184.215.14'), v4('10.0.0.7')],
      /resolves to 10\.0\.0\.7.*private/,
    ],
    ['IPv6 loopback', [{ address: '::1', family: 6 as const }], /loopback/],
    ['IPv4-mapped loopback', [{ address: '::ffff:127.0.0.1', family: 6 as const }], /loopback/],
    ['ULA metadata', [{ address: 'fd00:ec2::254', family: 6 as const }], /metadata/],
    ['CGNAT', [v4('100.64.0.1')], /carrier-grade/],
  ])('a name resolving to %s: url_forbidden, nothing sent', async (_what, addresses, reason) => {
    const before = server.requests.length;
    const error = await refusal(
      fetchOriginImageUrl('https://innocent.test.example/cat.jpg', {
        policy: STRICT_URL_POLICY,
        maxBytes: MAX_BYTES,
        timeoutMs: TIMEOUT_MS,
        resolve: tableResolver({ 'innocent.test.example': [addresses] }),
      }),
    );
    expect(error.code).toBe('url_forbidden');
    expect(error.message).toMatch(reason);
    expect(server.requests.length).toBe(before);
  });

  it('a name without addresses is fetch_failed', async () => {
    const error = await refusal(
      fetchOriginImageUrl('https://nowhere.test.example/cat.jpg', {
        policy: STRICT_URL_POLICY,
        maxBytes: MAX_BYTES,
        timeoutMs: TIMEOUT_MS,
        resolve: tableResolver({}),
      }),
    );
    expect(error.code).toBe('fetch_failed');
  });

  it('the same redirect, size, timeout and sniffing rules as the edge', async () => {
    const options = { policy: TEST_LOOPBACK, maxBytes: MAX_BYTES, timeoutMs: TIMEOUT_MS };
    const cases: [string, string, RegExp][] = [
      ['/redirect-private', 'url_forbidden', /10\.0\.0\.1/],
      ['/redirect-metadata', 'url_forbidden', /metadata/],
      ['/chain/3', 'fetch_failed', /more than 3 redirects/],
      ['/endless', 'fetch_failed', new RegExp(`within ${TIMEOUT_MS} ms`)],
      ['/flood', 'fetch_failed', /byte limit/],
      ['/declared-huge', 'fetch_failed', /byte limit/],
      ['/page.html', 'unsupported_media_type', /not a JPEG, PNG or WebP/],
      ['/missing', 'fetch_failed', /HTTP 404/],
    ];
    for (const [path, code, message] of cases) {
      const started = performance.now();
      const error = await refusal(fetchOriginImageUrl(server.url(path), options));
      expect(error.code, path).toBe(code);
      expect(error.message, path).toMatch(message);
      // Tolerance: the deadline plus 2 s on a loaded machine.
      expect(performance.now() - started, path).toBeLessThan(TIMEOUT_MS + 2000);
    }
    expect(Buffer.from(await fetchOriginImageUrl(server.url('/chain/2'), options)).equals(image)).toBe(true);
    // Every endless or flooding response was hung up on, not left streaming.
    await expect.poll(() => server.openStreams(), { timeout: 5000 }).toBe(0);
  });
});

describe('POST /v1/classify with image_url (real origin)', () => {
  let origin: TestOrigin;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const models = await buildModelsDir(['b0']);
    cleanup = models.cleanup;
    origin = await startTestOrigin(models.dir, { ORIGIN_IMAGE_URL_UNSAFE_TEST_LOOPBACK: 'true' });
  });
  afterAll(async () => {
    await origin?.close();
    await cleanup?.();
  });

  const classifyJson = (body: object) =>
    fetch(`${origin.url}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'efficientnet-b0', top_k: 3, ...body }),
    });

  it('classifies the image at a URL exactly as the same image inline', async () => {
    const byUrl = await classifyJson({ image_url: server.url('/image.jpg') });
    expect(byUrl.status).toBe(200);
    const inline = await classifyJson({ image: image.toString('base64') });
    expect(ClassifyResponseSchema.parse(await byUrl.json()).predictions).toEqual(
      ClassifyResponseSchema.parse(await inline.json()).predictions,
    );
  });

  it('says at start that the test-only switch is on', () => {
    expect(origin.logs.join('\n')).toMatch(/WARNING: ORIGIN_IMAGE_URL_UNSAFE_TEST_LOOPBACK=true.*Tests only/);
  });

  it('refuses with the shared envelope', async () => {
    await expectError(
      await classifyJson({ image_url: 'https://169.254.169.254/latest/meta-data/' }),
      400,
      'url_forbidden',
    );
    await expectError(
      await classifyJson({ image_url: server.url('/redirect-private') }),
      400,
      'url_forbidden',
    );
    await expectError(
      await classifyJson({ image_url: server.url('/page.html') }),
      415,
      'unsupported_media_type',
    );
    await expectError(
      await classifyJson({ image_url: 'https://user:pw@example.com/a.jpg' }),
      400,
      'url_forbidden',
    );
    await expectError(
      await classifyJson({ image: 'AAAA', image_url: server.url('/image.jpg') }),
      400,
      'invalid_parameter',
    );
  });
});
