import {
  canonicalString,
  encodeText,
  fromHex,
  type HmacKey,
  importHmacKey,
  isSafeField,
  ownBuffer,
  SIGNATURE_HEADERS,
  sha256Hex,
} from './canonical.ts';
import { ReplayCache } from './replay-cache.ts';

export type VerifyFailure =
  | 'missing'
  | 'malformed'
  | 'unknown_key'
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
  /** How long a signature stays valid after its timestamp. Default 60 000 ms. */
  maxAgeMs?: number;
  /** How far a timestamp may lie in the future (clock skew between signer and verifier). Default 5 000 ms. */
  maxFutureSkewMs?: number;
  /** Accepted signatures remembered at most (see ReplayCache). Default 100 000. */
  replayCapacity?: number;
  now?: () => number;
}

export interface RequestToVerify {
  method: string;
  pathWithQuery: string;
  body: Uint8Array;
  header(name: string): string | null | undefined;
}

export interface Verifier {
  verify(request: RequestToVerify): Promise<VerifyResult>;
}

const fail = (reason: VerifyFailure, message: string): VerifyResult => ({ ok: false, reason, message });

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

  return {
    async verify(request) {
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
      const mac = fromHex(signature);
      if (mac?.length !== 32) return fail('malformed', 'x-signature must be 64 hex digits');

      const at = Number(timestamp);
      const current = now();
      if (current - at > maxAgeMs) return fail('expired', `signature expired (older than ${maxAgeMs} ms)`);
      if (at - current > maxFutureSkewMs) {
        return fail('from_future', `signature timestamp is more than ${maxFutureSkewMs} ms in the future`);
      }
      const key = keyFor(keyId);
      if (!key) return fail('unknown_key', 'unknown signing key id');

      const text = canonicalString({
        method: request.method,
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
