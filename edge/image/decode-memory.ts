// Decoded images of concurrent requests share one isolate (128 MB, most of it the model's heap). Each
// request reserves its decode's estimated bytes before decoding and gives them back once the pixels
// have become a tensor; beyond the isolate's budget requests wait in line, and past `maxWaitMs` they
// are told to come back later. A reservation expires on its own after `leaseMs`, so a request that
// failed between decode and preprocess cannot hold memory for good.

export interface DecodeLease {
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: (lease: DecodeLease) => void;
}

export class DecodeBusyError extends Error {}

export interface DecodeMemoryOptions {
  budgetBytes: number;
  maxWaitMs: number;
  leaseMs: number;
  now?: () => number;
}

export class DecodeMemory {
  private readonly held = new Map<number, { bytes: number; expires: number }>();
  private readonly queue: Waiter[] = [];
  private nextId = 0;
  private readonly now: () => number;

  constructor(private readonly options: DecodeMemoryOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Bytes currently reserved (expired leases dropped). */
  inUse(): number {
    const now = this.now();
    let sum = 0;
    for (const [id, lease] of this.held) {
      if (lease.expires <= now) this.held.delete(id);
      else sum += lease.bytes;
    }
    return sum;
  }

  /** Waits until `bytes` fit the budget (first come, first served); throws DecodeBusyError past maxWaitMs. */
  async acquire(bytes: number): Promise<DecodeLease> {
    if (this.queue.length === 0 && this.fits(bytes)) return this.grant(bytes);
    return new Promise<DecodeLease>((resolve, reject) => {
      const waiter: Waiter = { bytes, grant: resolve };
      this.queue.push(waiter);
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(waiter);
        if (at < 0) return;
        this.queue.splice(at, 1);
        reject(new DecodeBusyError('decode memory is busy'));
        this.drain();
      }, this.options.maxWaitMs);
      waiter.grant = (lease) => {
        clearTimeout(timer);
        resolve(lease);
      };
      // An expired lease frees memory without a release() call: look again when the wait would end.
      this.drain();
    });
  }

  private fits(bytes: number): boolean {
    // One image larger than the whole budget still runs, alone.
    const used = this.inUse();
    return used === 0 || used + bytes <= this.options.budgetBytes;
  }

  private grant(bytes: number): DecodeLease {
    const id = this.nextId++;
    this.held.set(id, { bytes, expires: this.now() + this.options.leaseMs });
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.held.delete(id);
        this.drain();
      },
    };
  }

  private drain(): void {
    for (let first = this.queue[0]; first && this.fits(first.bytes); first = this.queue[0]) {
      this.queue.shift();
      first.grant(this.grant(first.bytes));
    }
  }
}
