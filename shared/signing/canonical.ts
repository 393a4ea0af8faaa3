// The exact bytes a request signature covers. Both sides must build them identically, so this is the
// only place that decides the layout.

// v2 added the audience line.
export const SIGNATURE_VERSION = 'v2';

export const SIGNATURE_HEADERS = {
  keyId: 'x-sig-key-id',
  timestamp: 'x-sig-timestamp',
  nonce: 'x-sig-nonce',
  signature: 'x-signature',
} as const;

export interface SignedParts {
  method: string;
  /**
   * The host the request is meant for, as in its URL (`url.host`, normalised by `normalizeAudience`), so a
   * signature made for one origin is worthless at another that shares the key.
   */
  audience: string;
  /** Path plus query string, e.g. "/v1/classify?model=efficientnet-b5": parameters travel in the query. */
  pathWithQuery: string;
  keyId: string;
  /** Unix epoch milliseconds, as decimal text. */
  timestamp: string;
  nonce: string;
  bodySha256Hex: string;
}

/** One field per line; none of the fields may contain a newline, which `isSafeField` enforces. */
export function canonicalString(parts: SignedParts): string {
  return [
    SIGNATURE_VERSION,
    parts.method.toUpperCase(),
    normalizeAudience(parts.audience),
    parts.pathWithQuery,
    parts.keyId,
    parts.timestamp,
    parts.nonce,
    parts.bodySha256Hex,
  ].join('\n');
}

/** Lower case, without a default port: `GPU.example.com:443` and `gpu.example.com` name the same origin. */
export function normalizeAudience(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/:(80|443)$/, '');
}

export function isSafeField(value: string): boolean {
  return value.length > 0 && value.length <= 2048 && !/[\r\n]/.test(value);
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const b of view) out += b.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export async function sha256Hex(body: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', ownBuffer(body)));
}

const encoder = new TextEncoder();

// Return type left to inference: CryptoKey is a global type in workerd and shared/'s declarations, not in Node's.
export function importHmacKey(secret: string, usage: 'sign' | 'verify') {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    usage,
  ]);
}

export type HmacKey = Awaited<ReturnType<typeof importHmacKey>>;

export function encodeText(text: string): Uint8Array<ArrayBuffer> {
  return ownBuffer(encoder.encode(text));
}

/** WebCrypto's typings (DOM lib) want views over a plain ArrayBuffer; copy only when the view is not. */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
