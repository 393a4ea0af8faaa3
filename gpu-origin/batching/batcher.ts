import { DeadlineExceededError, QueueFullError, ShuttingDownError } from './errors.ts';

// Dynamic batching for one model. Requests that arrive within `windowMs` of the first waiting one run as
// one batch (up to `maxBatch`); requests that arrive while a batch runs form the next batch, which starts
// as soon as the running one ends. One batch runs at a time, because concurrent runs on one session only
// compete for the same cores or GPU.

export interface BatcherOptions {
  name: string;
  windowMs: number;
  maxBatch: number;
  /** Waiting requests at most; beyond this `submit` throws QueueFullError. */
  maxQueue: number;
  /** Runs `count` inputs laid end to end; returns their outputs laid end to end (equal sizes). */
  runBatch: (batch: Float32Array, count: number) => Promise<Float32Array>;
  /**
   * Expected ms per image before any batch has run here: the model's measured p50 (profile or warm-up).
   * Observed batches take over once they exist.
   */
  imageMs?: number;
  now?: () => number;
  onQueueDepth?: (depth: number) => void;
  onBatch?: (size: number, ms: number) => void;
  onReject?: (reason: 'queue_full' | 'deadline' | 'shutting_down') => void;
}

interface Pending {
  input: Float32Array;
  deadlineAt: number;
  resolve: (output: Float32Array) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Room held in a batcher's queue while the inputs are prepared; see Batcher.reserve. */
export interface Reservation {
  /** Queues one input in a held place (the deadline is the one given to `reserve`). */
  submit(input: Float32Array): Promise<Float32Array>;
  /** Gives back the places not used, e.g. when preparing an input failed. Idempotent. */
  release(): void;
}

export class Batcher {
  private readonly queue: Pending[] = [];
  /** Places held by requests still decoding; they count against maxQueue. */
  private reserved = 0;
  private running = false;
  private closed = false;
  private windowTimer: ReturnType<typeof setTimeout> | undefined;
  private avgBatchMs = 0;
  /** EWMA of observed batch time per image; null before the first batch. */
  private observedImageMs: number | null = null;
  /** The running batch: when it started and how many images it holds. */
  private runningSince = 0;
  private runningSize = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly options: BatcherOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Cost of one image in ms: observed batches when any ran, else the measured prior; null when neither. */
  get imageMs(): number | null {
    return this.observedImageMs ?? this.options.imageMs ?? null;
  }

  /**
   * How long a request arriving now is expected to wait before its result is computed, beyond its own
   * single-image time: the rest of the running batch, every image queued or held ahead of it, and the
   * batching window when nothing runs. It is computed from the queue as it is now, so it rises the moment
   * a burst is queued and falls as soon as the queue drains (an average of past waits would lag both).
   */
  expectedWaitMs(): number {
    const perImage = this.imageMs ?? 0;
    const ahead = this.queue.length + this.reserved;
    const running = this.running
      ? Math.max(0, this.runningSize * perImage - (this.now() - this.runningSince))
      : this.options.maxBatch > 1
        ? this.options.windowMs
        : 0;
    return running + ahead * perImage;
  }

  /** Queues one input; resolves with its output, or rejects with a batching error. */
  submit(input: Float32Array, deadlineAt: number): Promise<Float32Array> {
    let reservation: Reservation;
    try {
      reservation = this.reserve(1, deadlineAt);
    } catch (error) {
      return Promise.reject(error);
    }
    return reservation.submit(input);
  }

  /**
   * Admission before work: holds `count` places in the queue, or throws QueueFullError, DeadlineExceededError
   * or ShuttingDownError at once, so a request is refused before its image is decoded.
   */
  reserve(count: number, deadlineAt: number): Reservation {
    const refuse = (reason: 'queue_full' | 'deadline' | 'shutting_down', error: Error): never => {
      this.options.onReject?.(reason);
      throw error;
    };
    if (this.closed) refuse('shutting_down', new ShuttingDownError());
    if (deadlineAt - this.now() <= 0)
      refuse('deadline', new DeadlineExceededError('deadline passed before inference'));
    if (this.queue.length + this.reserved + count > this.options.maxQueue) {
      refuse('queue_full', new QueueFullError(this.options.name, this.retryAfterS()));
    }
    this.reserved += count;
    let held = count;
    return {
      submit: (input) => {
        if (held === 0) return Promise.reject(new Error('no place left in this reservation'));
        held--;
        this.reserved--;
        return this.enqueue(input, deadlineAt);
      },
      release: () => {
        this.reserved -= held;
        held = 0;
      },
    };
  }

  private enqueue(input: Float32Array, deadlineAt: number): Promise<Float32Array> {
    const reject = (reason: 'deadline' | 'shutting_down', error: Error) => {
      this.options.onReject?.(reason);
      return Promise.reject(error);
    };
    if (this.closed) return reject('shutting_down', new ShuttingDownError());
    const remaining = deadlineAt - this.now();
    if (remaining <= 0)
      return reject('deadline', new DeadlineExceededError('deadline passed before inference'));
    return new Promise<Float32Array>((resolve, rejectItem) => {
      const item: Pending = { input, deadlineAt, resolve, reject: rejectItem, timer: undefined };
      // Answer as soon as the deadline passes, not when the batch ahead of it finishes.
      item.timer = setTimeout(() => this.expire(item), Math.ceil(remaining));
      this.queue.push(item);
      this.depthChanged();
      this.schedule();
    });
  }

  /** Refuses new work and resolves once everything queued or running has finished. */
  drain(): Promise<void> {
    this.closed = true;
    if (this.windowTimer) {
      clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
      void this.flush();
    }
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private retryAfterS(): number {
    const batchesAhead = Math.ceil((this.queue.length + this.reserved) / this.options.maxBatch) + 1;
    return Math.max(1, Math.ceil((batchesAhead * this.avgBatchMs) / 1000));
  }

  private expire(item: Pending): void {
    const at = this.queue.indexOf(item);
    if (at < 0) return;
    this.queue.splice(at, 1);
    this.depthChanged();
    this.options.onReject?.('deadline');
    item.reject(new DeadlineExceededError('deadline passed while waiting for inference'));
    this.settleIfIdle();
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.options.maxBatch || this.closed) {
      void this.flush();
    } else if (!this.windowTimer) {
      this.windowTimer = setTimeout(() => void this.flush(), this.options.windowMs);
    }
  }

  private async flush(): Promise<void> {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    if (this.running) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    for (const item of batch) clearTimeout(item.timer);
    this.depthChanged();
    if (batch.length === 0) return this.settleIfIdle();

    this.running = true;
    const started = this.now();
    this.runningSince = started;
    this.runningSize = batch.length;
    try {
      const size = batch[0]?.input.length ?? 0;
      const joined = new Float32Array(size * batch.length);
      batch.forEach((item, i) => {
        joined.set(item.input, i * size);
      });
      const outputs = await this.options.runBatch(joined, batch.length);
      const per = outputs.length / batch.length;
      batch.forEach((item, i) => {
        item.resolve(outputs.slice(i * per, (i + 1) * per));
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const item of batch) item.reject(failure);
    } finally {
      const ms = this.now() - started;
      this.avgBatchMs = this.avgBatchMs === 0 ? ms : 0.8 * this.avgBatchMs + 0.2 * ms;
      const perImage = ms / batch.length;
      this.observedImageMs =
        this.observedImageMs === null ? perImage : 0.8 * this.observedImageMs + 0.2 * perImage;
      this.options.onBatch?.(batch.length, ms);
      this.running = false;
    }
    // Whatever arrived during the run has already waited; start it right away.
    if (this.queue.length > 0) void this.flush();
    else this.settleIfIdle();
  }

  private depthChanged(): void {
    this.options.onQueueDepth?.(this.queue.length);
  }

  private settleIfIdle(): void {
    if (this.running || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
