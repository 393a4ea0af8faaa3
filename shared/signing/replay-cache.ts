// Remembers accepted signatures until they would expire anyway, so each signed request is accepted once.
// Bounded: when full of still-valid entries it refuses new ones instead of forgetting live ones, because
// forgetting would reopen a replay window.

export type ReplayCheck = 'fresh' | 'replayed' | 'full';

export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('replay cache capacity must be >= 1');
  }

  get size(): number {
    return this.seen.size;
  }

  /** Records `id` as used until `expiresAt` (epoch ms) unless it was already used. */
  checkAndRemember(id: string, expiresAt: number, now: number): ReplayCheck {
    const known = this.seen.get(id);
    if (known !== undefined && known > now) return 'replayed';
    this.pruneOldest(now);
    if (this.seen.size >= this.capacity) {
      this.pruneAll(now);
      if (this.seen.size >= this.capacity) return 'full';
    }
    this.seen.set(id, expiresAt);
    return 'fresh';
  }

  // Entries arrive roughly in expiry order, so dropping expired ones from the front is cheap and usual.
  private pruneOldest(now: number): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt > now) return;
      this.seen.delete(id);
    }
  }

  private pruneAll(now: number): void {
    for (const [id, expiresAt] of this.seen) if (expiresAt <= now) this.seen.delete(id);
  }
}
