import {
  canonicalString,
  encodeText,
  fromHex,
  type HmacKey,
  importHmacKey,
  isSafeField,
  normalizeAudience,
  ownBuffer,
  SIGNATURE_HEADERS,
  sha256Hex,
} from './canonical.ts';
import { ReplayCache } from './replay-cache.ts';

export type VerifyFailure =
  | 'missing'
  | 'malformed'
  | 'unknown_key'
  | 'wrong_audience'
  | 'expired'
  | 'from_future'
  | 'bad_signature'
  | 'replayed'
  | 'replay_cache_full';

export type VerifyResult =
  | { ok: true; keyId: string }
  | { ok: false; reason: VerifyFailure; message: string };

export interface VerifierOptions {
  /** Key id → shared secret. Several ids allow rotation. */
  keys: ReadonlyMap<string, string>;
  /**
   * Hosts this verifier answers for (normalised by the caller or not: both sides are normalised). The
   * request's Host header must be one of them. Empty or absent: any Host, still bound into the signature.
   */
  audiences?: readonly string[];
  /** How long a signature stays valid after its timestamp. Default 60 000 ms. */
  maxAgeMs?: number;
  /** How far a timestamp may lie in the future (clock skew between signer and verifier). Default 5 000 ms. */
  maxFutureSkewMs?: number;
  /** Accepted signatures remembered at most (see ReplayCache). Default 100 000. */
  replayCapacity?: number;
  now?: () => number;
}

/** What is known before the body is read. The audience is the `host` header. */
export interface RequestHead {
  method: string;
  pathWithQuery: string;
  header(name: string): string | null | undefined;
}

export interface RequestToVerify extends RequestHead {
  body: Uint8Array;
}

export interface Verifier {
  /**
   * Checks everything but the MAC from the headers alone (presence, format, age, key id, audience), so a
   * request that cannot pass is refused before its body is read. `verify` runs these checks too.
   */
  checkHeaders(request: RequestHead): VerifyFailureResult | null;
  verify(request: RequestToVerify): Promise<VerifyResult>;
}

type VerifyFailureResult = Extract<VerifyResult, { ok: false }>;

const fail = (reason: VerifyFailure, message: string): VerifyFailureResult => ({
  ok: false,
  reason,
  message,
});

export function createVerifier(options: VerifierOptions): Verifier {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxFutureSkewMs = options.maxFutureSkewMs ?? 5_000;
  const now = options.now ?? (() => Date.now());
  const replay = new ReplayCache(options.replayCapacity ?? 100_000);
  const imported = new Map<string, Promise<HmacKey>>();
  const keyFor = (id: string): Promise<HmacKey> | undefined => {
    const secret = options.keys.get(id);
    if (secret === undefined) return undefined;
    let key = imported.get(id);
    if (!key) {
      key = importHmacKey(secret, 'verify');
      imported.set(id, key);
    }
    return key;
  };

  const audiences = new Set((options.audiences ?? []).map(normalizeAudience));

  function checkHeaders(request: RequestHead): VerifyFailureResult | null {
    const keyId = request.header(SIGNATURE_HEADERS.keyId);
    const timestamp = request.header(SIGNATURE_HEADERS.timestamp);
    const nonce = request.header(SIGNATURE_HEADERS.nonce);
    const signature = request.header(SIGNATURE_HEADERS.signature);
    if (!keyId || !timestamp || !nonce || !signature) {
      return fail(
        'missing',
        'request is not signed: x-sig-key-id, x-sig-timestamp, x-sig-nonce and x-signature are required',
      );
    }
    if (![keyId, nonce].every(isSafeField) || !/^\d{1,16}$/.test(timestamp)) {
      return fail('malformed', 'signature headers are malformed');
    }
    if (fromHex(signature)?.length !== 32) return fail('malformed', 'x-signature must be 64 hex digits');

    const at = Number(timestamp);
    const current = now();
    if (current - at > maxAgeMs) return fail('expired', `signature expired (older than ${maxAgeMs} ms)`);
    if (at - current > maxFutureSkewMs) {
      return fail('from_future', `signature timestamp is more than ${maxFutureSkewMs} ms in the future`);
    }
    if (!options.keys.has(keyId)) return fail('unknown_key', 'unknown signing key id');
    const host = request.header('host');
    if (!host || !isSafeField(host)) return fail('malformed', 'the request has no usable Host header');
    if (audiences.size > 0 && !audiences.has(normalizeAudience(host))) {
      return fail('wrong_audience', 'the request is addressed to a host this origin does not answer for');
    }
    return null;
  }

  return {
    checkHeaders,
    async verify(request) {
      const refused = checkHeaders(request);
      if (refused) return refused;
      // checkHeaders has established that all of these are present and well formed.
      const keyId = request.header(SIGNATURE_HEADERS.keyId) as string;
      const timestamp = request.header(SIGNATURE_HEADERS.timestamp) as string;
      const nonce = request.header(SIGNATURE_HEADERS.nonce) as string;
      const signature = request.header(SIGNATURE_HEADERS.signature) as string;
      const mac = fromHex(signature) as Uint8Array;
      const at = Number(timestamp);
      const current = now();
      const key = keyFor(keyId) as Promise<HmacKey>;

      const text = canonicalString({
        method: request.method,
        audience: request.header('host') as string,
        pathWithQuery: request.pathWithQuery,
        keyId,
        timestamp,
        nonce,
        bodySha256Hex: await sha256Hex(request.body),
      });
      // subtle.verify compares in constant time.
      const valid = await crypto.subtle.verify('HMAC', await key, ownBuffer(mac), encodeText(text));
      if (!valid) return fail('bad_signature', 'signature does not match the request');

      // Only valid signatures are remembered, so forged traffic cannot fill the cache.
      const seen = replay.checkAndRemember(`${keyId}:${signature.toLowerCase()}`, at + maxAgeMs, current);
      if (seen === 'replayed') return fail('replayed', 'signature was already used');
      if (seen === 'full')
        return fail('replay_cache_full', 'too many signed requests in the validity window');
      return { ok: true, keyId };
    },
  };
}
