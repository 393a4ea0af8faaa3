// shared/ is checked with no runtime's type library. These are the few web-platform globals that both
// Node >= 20 and workerd provide; declaring them here keeps Node- or Workers-only APIs out of shared/.
export {};

declare global {
  type BufferSource = ArrayBufferView | ArrayBuffer;
  interface CryptoKey {
    readonly type: string;
  }
  interface SubtleCrypto {
    importKey(
      format: 'raw',
      keyData: BufferSource,
      algorithm: { name: 'HMAC'; hash: 'SHA-256' },
      extractable: boolean,
      keyUsages: ('sign' | 'verify')[],
    ): Promise<CryptoKey>;
    sign(algorithm: 'HMAC', key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
    verify(algorithm: 'HMAC', key: CryptoKey, signature: BufferSource, data: BufferSource): Promise<boolean>;
    digest(algorithm: 'SHA-256', data: BufferSource): Promise<ArrayBuffer>;
  }
  var crypto: {
    readonly subtle: SubtleCrypto;
    getRandomValues<T extends ArrayBufferView>(array: T): T;
    randomUUID(): string;
  };
  class TextEncoder {
    encode(input?: string): Uint8Array;
  }
  class TextDecoder {
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    decode(input?: BufferSource): string;
  }
  /** WHATWG URL: the parser both runtimes share, so the edge and the origin read a URL alike. */
  class URL {
    constructor(url: string, base?: string | URL);
    hash: string;
    readonly host: string;
    readonly hostname: string;
    readonly href: string;
    readonly password: string;
    readonly pathname: string;
    readonly port: string;
    readonly protocol: string;
    readonly search: string;
    readonly username: string;
    toString(): string;
  }
  // Node's timers return an object, workerd's a number: shared/ code only passes them back.
  function setTimeout(callback: () => void, ms: number): unknown;
  function clearTimeout(timer: unknown): void;
  function btoa(data: string): string;
  function atob(data: string): string;
}
