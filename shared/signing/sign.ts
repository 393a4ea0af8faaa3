import {
  canonicalString,
  encodeText,
  importHmacKey,
  SIGNATURE_HEADERS,
  sha256Hex,
  toHex,
} from './canonical.ts';

export interface SigningKey {
  id: string;
  secret: string;
}

export interface SignRequestInput {
  key: SigningKey;
  method: string;
  /** The origin's host as in the request URL (`url.host`); see SignedParts.audience. */
  audience: string;
  /** Path plus query string exactly as sent, e.g. `url.pathname + url.search`. */
  pathWithQuery: string;
  body: Uint8Array;
  /** Epoch milliseconds; defaults to Date.now(). */
  now?: number;
  /** Defaults to 16 random bytes as hex. */
  nonce?: string;
}

export type SignatureHeaders = Record<(typeof SIGNATURE_HEADERS)[keyof typeof SIGNATURE_HEADERS], string>;

function randomNonce(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * HMAC-SHA256 over method, audience (host), path+query, key id, timestamp, nonce and the body's SHA-256.
 * Returns the headers to add to the request.
 */
export async function signRequest(input: SignRequestInput): Promise<SignatureHeaders> {
  const timestamp = String(Math.floor(input.now ?? Date.now()));
  const nonce = input.nonce ?? randomNonce();
  const text = canonicalString({
    method: input.method,
    audience: input.audience,
    pathWithQuery: input.pathWithQuery,
    keyId: input.key.id,
    timestamp,
    nonce,
    bodySha256Hex: await sha256Hex(input.body),
  });
  const key = await importHmacKey(input.key.secret, 'sign');
  const mac = await crypto.subtle.sign('HMAC', key, encodeText(text));
  return {
    [SIGNATURE_HEADERS.keyId]: input.key.id,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: toHex(mac),
  };
}
