// Where cached answers live: the part of the Workers Cache API the result cache uses, the Worker's named
// cache, and an in-memory store with the same expiry rules for runtimes without the Cache API.
import { RESULT_CACHE_NAME } from './status.ts';

/** The two Cache API calls the result cache makes (a Workers `Cache` satisfies this). */
export interface ResultStore {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
}

/** The Worker's named cache in the Cache API (a named cache keeps answers apart from any zone content). */
export function workersResultStore(): Promise<ResultStore> | undefined {
  // Looked up on globalThis: Node (in-process tests) has no `caches`.
  const storage = (globalThis as { caches?: { open(name: string): Promise<ResultStore> } }).caches;
  return storage?.open(RESULT_CACHE_NAME);
}

/**
 * A Cache API stand-in held in memory: it keeps a response for its Cache-Control max-age (as the Workers
 * cache does; no max-age, or 0, is not stored) and returns a fresh copy on every match.
 */
export class MemoryResultStore implements ResultStore {
  readonly #entries = new Map<string, { body: string; headers: [string, string][]; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async match(key: string): Promise<Response | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return new Response(entry.body, { headers: entry.headers });
  }

  async put(key: string, response: Response): Promise<void> {
    const maxAge = /(?:^|,)\s*max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1];
    const body = await response.text();
    if (!maxAge || Number(maxAge) === 0) return;
    this.#entries.set(key, {
      body,
      headers: [...response.headers.entries()],
      expiresAt: this.now() + Number(maxAge) * 1000,
    });
  }

  get size(): number {
    return this.#entries.size;
  }
}
