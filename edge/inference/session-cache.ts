// One session per model per isolate, created on first use. Concurrent first requests share one
// in-flight load; a failed load is forgotten so a later request tries again.

export interface SessionStats {
  /** How many times a load was started for this key. */
  inits: number;
  loaded: boolean;
}

export class SessionCache<K extends string, V> {
  private readonly entries = new Map<K, Promise<V>>();
  private readonly ready = new Set<K>();
  private readonly inits = new Map<K, number>();

  get(key: K, load: () => Promise<V>): Promise<V> {
    const existing = this.entries.get(key);
    if (existing) return existing;
    this.inits.set(key, (this.inits.get(key) ?? 0) + 1);
    const pending = load().then(
      (value) => {
        this.ready.add(key);
        return value;
      },
      (error: unknown) => {
        if (this.entries.get(key) === pending) this.entries.delete(key);
        throw error;
      },
    );
    this.entries.set(key, pending);
    return pending;
  }

  isLoaded(key: K): boolean {
    return this.ready.has(key);
  }

  stats(): Record<string, SessionStats> {
    const out: Record<string, SessionStats> = {};
    for (const [key, inits] of this.inits) out[key] = { inits, loaded: this.ready.has(key) };
    return out;
  }
}
