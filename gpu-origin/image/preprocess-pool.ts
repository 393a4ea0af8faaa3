import { Worker } from 'node:worker_threads';
import { ApiError } from '../../shared/http/errors.ts';
import type { PreprocessSpec } from '../../shared/preprocess/spec.ts';
import { checkEncoded, type DecodeLimits } from './decode.ts';
import { decodeAndPreprocess, type Prepared } from './prepare.ts';
import type { PrepareReply, PrepareRequest } from './preprocess-task.ts';

// Decoding runs in sharp's threads, but the shared preprocess is JavaScript: on the main thread a large
// image would stall every other request (and the health probes) and cap throughput at one core. A small
// pool of worker threads runs decode + preprocess instead; size 0 keeps it on the main thread.
//
// Each worker holds one job at a time (a 40 MP decode needs ~120 MB), the rest wait in line here. Every job
// ends at its request's deadline. A worker that crashes or exits fails only the job it held and is
// replaced; one that overruns its job's deadline by `hungAfterMs` is terminated and replaced too.

export interface Preparer {
  /** `deadlineAt` is on performance.now()'s clock. */
  prepare(
    bytes: Uint8Array,
    spec: PreprocessSpec,
    limits: DecodeLimits,
    deadlineAt: number,
  ): Promise<Prepared>;
  /** Jobs handed to a decoder so far, and jobs decoding or waiting now. */
  stats(): { started: number; running: number; waiting: number };
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Worker threads; 0 runs one job at a time on the main thread. */
  size: number;
  log?: (line: string) => void;
  /** Grace after a job's deadline before its worker counts as hung. Default 10 s. */
  hungAfterMs?: number;
  /** The worker's entry module; a test may substitute one that wraps the real task. */
  workerUrl?: URL;
}

interface Job {
  request: PrepareRequest;
  deadlineAt: number;
  settled: boolean;
  resolve: (p: Prepared) => void;
  reject: (e: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
}

interface Slot {
  index: number;
  /** null: the inline slot (size 0), or a worker being replaced. */
  worker: Worker | null;
  job: Job | undefined;
  hungTimer?: ReturnType<typeof setTimeout>;
  startedAt: number;
}

const DEFAULT_WORKER_URL = new URL('./preprocess-worker.mjs', import.meta.url);

export function createPreprocessPool(options: PoolOptions): Preparer {
  const log = options.log ?? (() => {});
  const hungAfterMs = options.hungAfterMs ?? 10_000;
  const inline = options.size <= 0;
  const waiting: Job[] = [];
  let nextId = 0;
  let started = 0;
  let closed = false;

  const settle = (job: Job, outcome: { ok: Prepared } | { error: Error }) => {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if ('ok' in outcome) job.resolve(outcome.ok);
    else job.reject(outcome.error);
  };

  const spawn = (slot: Slot) => {
    const worker = new Worker(options.workerUrl ?? DEFAULT_WORKER_URL);
    slot.worker = worker;
    slot.startedAt = performance.now();
    worker.on('message', (reply: PrepareReply) => {
      const job = slot.job;
      if (!job || job.request.id !== reply.id) return;
      finish(slot);
      if (reply.ok) {
        settle(job, {
          ok: { tensor: reply.tensor, decodeMs: reply.decodeMs, preprocessMs: reply.preprocessMs },
        });
      } else {
        settle(job, {
          error: reply.code ? new ApiError(reply.code, reply.message) : new Error(reply.message),
        });
      }
      pump();
    });
    // 'error' (an uncaught exception) is always followed by 'exit'; the job is failed there.
    worker.on('error', (error) => log(`preprocess worker ${slot.index} crashed: ${error.message}`));
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      const job = slot.job;
      finish(slot);
      if (job) {
        settle(job, {
          error: new ApiError(
            'model_unavailable',
            'the image preprocessing worker failed; retry the request',
            {
              'retry-after': '1',
            },
          ),
        });
      }
      if (closed) return;
      // A worker that dies at once (a broken install) is not respawned in a tight loop.
      const lived = performance.now() - slot.startedAt;
      log(
        `preprocess worker ${slot.index} exited with code ${code}${job ? ' holding a job' : ''}; replacing it`,
      );
      setTimeout(
        () => {
          if (closed) return;
          spawn(slot);
          pump();
        },
        lived < 1000 ? 1000 : 0,
      ).unref();
    });
    // Only a worker with work in hand keeps the process alive.
    worker.unref();
  };

  const slots: Slot[] = Array.from({ length: Math.max(1, options.size) }, (_, index) => {
    const slot: Slot = { index, worker: null, job: undefined, startedAt: 0 };
    if (!inline) spawn(slot);
    return slot;
  });

  function finish(slot: Slot): void {
    clearTimeout(slot.hungTimer);
    slot.job = undefined;
    slot.worker?.unref();
  }

  function run(slot: Slot, job: Job): void {
    started++;
    slot.job = job;
    if (inline) {
      const { bytes, spec, limits } = job.request;
      decodeAndPreprocess(bytes, spec, limits)
        .then(
          (ok) => settle(job, { ok }),
          (error: Error) => settle(job, { error }),
        )
        .finally(() => {
          finish(slot);
          pump();
        });
      return;
    }
    const worker = slot.worker as Worker;
    worker.ref();
    worker.postMessage(job.request);
    // The job itself ends at its deadline (see `expire`); a worker still busy long after is stuck.
    slot.hungTimer = setTimeout(
      () => {
        if (slot.job !== job || slot.worker !== worker) return;
        log(`preprocess worker ${slot.index} overran a deadline by ${hungAfterMs} ms; terminating it`);
        void worker.terminate();
      },
      Math.max(0, job.deadlineAt - performance.now()) + hungAfterMs,
    );
  }

  function pump(): void {
    for (const slot of slots) {
      if (waiting.length === 0) return;
      if (slot.job || (!inline && !slot.worker)) continue;
      run(slot, waiting.shift() as Job);
    }
  }

  function expire(job: Job): void {
    const at = waiting.indexOf(job);
    if (at >= 0) waiting.splice(at, 1);
    settle(job, {
      error: new ApiError(
        'deadline_exceeded',
        at >= 0 ? 'deadline passed while waiting to decode' : 'deadline passed while decoding',
      ),
    });
  }

  return {
    prepare(bytes, spec, limits, deadlineAt) {
      if (closed) return Promise.reject(new ApiError('model_unavailable', 'the server is shutting down'));
      // Size and format need no decoder: refuse them without waiting for one.
      try {
        checkEncoded(bytes, limits);
      } catch (error) {
        return Promise.reject(error);
      }
      const remaining = deadlineAt - performance.now();
      if (remaining <= 0)
        return Promise.reject(new ApiError('deadline_exceeded', 'deadline passed before decoding'));
      return new Promise<Prepared>((resolve, reject) => {
        const job: Job = {
          request: { id: nextId++, bytes, spec, limits },
          deadlineAt,
          settled: false,
          resolve,
          reject,
        };
        job.timer = setTimeout(() => expire(job), Math.ceil(remaining));
        waiting.push(job);
        pump();
      });
    },
    stats: () => ({
      started,
      running: slots.filter((s) => s.job).length,
      waiting: waiting.length,
    }),
    async close() {
      closed = true;
      for (const job of waiting.splice(0))
        settle(job, { error: new ApiError('model_unavailable', 'the server is shutting down') });
      await Promise.all(
        slots.map((s) => {
          clearTimeout(s.hungTimer);
          return s.worker?.terminate();
        }),
      );
    },
  };
}
