import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../shared/signing/replay-cache.ts';
import { signRequest } from '../../shared/signing/sign.ts';
import { createVerifier, type RequestToVerify } from '../../shared/signing/verify.ts';

const KEY = { id: 'edge-2026', secret: 'a-long-shared-secret-for-tests-0123456789' };
const T0 = 1_800_000_000_000;
const body = new TextEncoder().encode('image bytes');
const HOST = 'gpu.example.com';

async function signed(
  overrides: Partial<{ now: number; path: string; body: Uint8Array; method: string; audience: string }> = {},
) {
  const headers: Record<string, string> = await signRequest({
    key: KEY,
    method: overrides.method ?? 'POST',
    audience: overrides.audience ?? HOST,
    pathWithQuery: overrides.path ?? '/v1/classify?model=efficientnet-b5',
    body: overrides.body ?? body,
    now: overrides.now ?? T0,
  });
  return headers;
}

function request(headers: Record<string, string>, changes: Partial<RequestToVerify> = {}): RequestToVerify {
  return {
    method: 'POST',
    pathWithQuery: '/v1/classify?model=efficientnet-b5',
    body,
    header: (name) => (name === 'host' ? (headers.host ?? HOST) : headers[name]),
    ...changes,
  };
}

function verifierAt(time: { now: number }, extra: { replayCapacity?: number; audiences?: string[] } = {}) {
  return createVerifier({ keys: new Map([[KEY.id, KEY.secret]]), now: () => time.now, ...extra });
}

describe('request signing', () => {
  it('accepts a fresh signature and reports the key id', async () => {
    const result = await verifierAt({ now: T0 + 1000 }).verify(request(await signed()));
    expect(result).toEqual({ ok: true, keyId: KEY.id });
  });

  it('rejects a signature older than 60 s, and accepts one just inside the window', async () => {
    const headers = await signed();
    expect(await verifierAt({ now: T0 + 60_000 }).verify(request(headers))).toMatchObject({ ok: true });
    expect(await verifierAt({ now: T0 + 60_001 }).verify(request(headers))).toMatchObject({
      ok: false,
      reason: 'expired',
    });
  });

  it('tolerates 5 s of clock skew into the future but not more', async () => {
    expect(await verifierAt({ now: T0 }).verify(request(await signed({ now: T0 + 5_000 })))).toMatchObject({
      ok: true,
    });
    expect(await verifierAt({ now: T0 }).verify(request(await signed({ now: T0 + 5_001 })))).toMatchObject({
      ok: false,
      reason: 'from_future',
    });
  });

  it('rejects tampered body, path, method, timestamp and signature', async () => {
    const headers = await signed();
    const v = verifierAt({ now: T0 });
    const tampered = [
      request(headers, { body: new TextEncoder().encode('image bytez') }),
      request(headers, { pathWithQuery: '/v1/classify?model=efficientnet-b7' }),
      request(headers, { method: 'PUT' }),
      request({ ...headers, 'x-sig-timestamp': String(T0 + 1) }),
      request({ ...headers, 'x-sig-nonce': 'another-nonce' }),
      request({ ...headers, 'x-signature': `${headers['x-signature']?.slice(0, 63)}0` }),
    ];
    // The last case could collide only if the original ended in "0"; flip to "1" then.
    if (headers['x-signature']?.endsWith('0')) {
      tampered[5] = request({ ...headers, 'x-signature': `${headers['x-signature']?.slice(0, 63)}1` });
    }
    for (const r of tampered) expect(await v.verify(r)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a wrong secret under a known key id, unknown ids, missing and malformed headers', async () => {
    const v = verifierAt({ now: T0 });
    const forged = await signRequest({
      key: { id: KEY.id, secret: 'not-the-secret-at-all-but-long-enough' },
      method: 'POST',
      audience: HOST,
      pathWithQuery: '/v1/classify?model=efficientnet-b5',
      body,
      now: T0,
    });
    expect(await v.verify(request(forged))).toMatchObject({ reason: 'bad_signature' });
    const headers = await signed();
    expect(await v.verify(request({ ...headers, 'x-sig-key-id': 'other' }))).toMatchObject({
      reason: 'unknown_key',
    });
    expect(await v.verify(request({}))).toMatchObject({ reason: 'missing' });
    expect(await v.verify(request({ ...headers, 'x-signature': 'xyz' }))).toMatchObject({
      reason: 'malformed',
    });
    expect(await v.verify(request({ ...headers, 'x-sig-timestamp': '12.5' }))).toMatchObject({
      reason: 'malformed',
    });
  });

  it('binds the audience: a signature for one host fails at another that shares the key', async () => {
    const v = verifierAt({ now: T0 });
    // Replayed to a host that does not pin its audience: the Host header no longer matches the MAC.
    const forStaging = await signed({ audience: 'staging.example.com' });
    expect(await v.verify(request(forStaging))).toMatchObject({ reason: 'bad_signature' });
    // Case and default ports do not matter.
    expect(await v.verify(request({ ...(await signed({ audience: 'GPU.example.com:443' })) }))).toMatchObject(
      {
        ok: true,
      },
    );
    // A pinned audience refuses any other Host before computing a MAC, even a correctly signed one.
    const pinned = verifierAt({ now: T0 }, { audiences: ['gpu.example.com'] });
    const elsewhere = await signed({ audience: 'other.example.com' });
    expect(await pinned.verify(request({ ...elsewhere, host: 'other.example.com' }))).toMatchObject({
      reason: 'wrong_audience',
    });
    expect(await pinned.verify(request(await signed()))).toMatchObject({ ok: true });
  });

  it('checks headers, age, key id and audience without the body', async () => {
    const v = verifierAt({ now: T0 }, { audiences: [HOST] });
    const head = (headers: Record<string, string>) => {
      const { body: _ignored, ...rest } = request(headers);
      return rest;
    };
    const headers = await signed();
    expect(v.checkHeaders(head(headers))).toBeNull();
    expect(v.checkHeaders(head({}))).toMatchObject({ reason: 'missing' });
    expect(v.checkHeaders(head({ ...headers, 'x-sig-key-id': 'other' }))).toMatchObject({
      reason: 'unknown_key',
    });
    expect(v.checkHeaders(head(await signed({ now: T0 - 60_001 })))).toMatchObject({ reason: 'expired' });
    expect(v.checkHeaders(head({ ...headers, host: 'evil.example.com' }))).toMatchObject({
      reason: 'wrong_audience',
    });
  });

  it('accepts each signature once (replay), also when the hex case differs', async () => {
    const headers = await signed();
    const v = verifierAt({ now: T0 });
    expect(await v.verify(request(headers))).toMatchObject({ ok: true });
    expect(await v.verify(request(headers))).toMatchObject({ ok: false, reason: 'replayed' });
    const upper = { ...headers, 'x-signature': headers['x-signature']?.toUpperCase() ?? '' };
    expect(await v.verify(request(upper))).toMatchObject({ ok: false, reason: 'replayed' });
    // Two signatures over identical requests differ by nonce, so both pass.
    expect(await v.verify(request(await signed()))).toMatchObject({ ok: true });
  });

  it('refuses new signatures when the replay cache is full of live entries, and recovers after expiry', async () => {
    const time = { now: T0 };
    const v = verifierAt(time, { replayCapacity: 2 });
    expect(await v.verify(request(await signed()))).toMatchObject({ ok: true });
    expect(await v.verify(request(await signed()))).toMatchObject({ ok: true });
    expect(await v.verify(request(await signed()))).toMatchObject({ reason: 'replay_cache_full' });
    time.now = T0 + 61_000;
    expect(await v.verify(request(await signed({ now: T0 + 60_500 })))).toMatchObject({ ok: true });
  });
});

describe('ReplayCache', () => {
  it('forgets entries after they expire', () => {
    const cache = new ReplayCache(10);
    expect(cache.checkAndRemember('a', 100, 0)).toBe('fresh');
    expect(cache.checkAndRemember('a', 100, 50)).toBe('replayed');
    expect(cache.checkAndRemember('a', 300, 150)).toBe('fresh');
    expect(cache.size).toBe(1);
  });
});
