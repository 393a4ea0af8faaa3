import { Worker } from 'node:worker_threads';
import { ApiError } from '../../shared/http/errors.ts';
import type { PreprocessSpec } from '../../shared/preprocess/spec.ts';
import type { DecodeLimits } from './decode.ts';
import { decodeAndPreprocess, type Prepared } from './prepare.ts';
import type { PrepareReply, PrepareRequest } from './preprocess-task.ts';

// Decoding runs in sharp's threads, but the shared preprocess is JavaScript: on the main thread a large
// image would stall every other request (and the health probes) and cap throughput at one core. A small
// pool of worker threads runs decode + preprocess instead; size 0 keeps it on the main thread.

export interface Preparer {
  prepare(bytes: Uint8Array, spec: PreprocessSpec, limits: DecodeLimits): Promise<Prepared>;
  close(): Promise<void>;
}

export const inlinePreparer: Preparer = {
  prepare: decodeAndPreprocess,
  close: async () => {},
};

interface Slot {
  worker: Worker;
  busy: number;
}

export function createPreprocessPool(size: number): Preparer {
  if (size <= 0) return inlinePreparer;
  const pending = new Map<number, { resolve: (p: Prepared) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const url = new URL('./preprocess-worker.mjs', import.meta.url);
  const slots: Slot[] = Array.from({ length: size }, () => {
    const slot: Slot = { worker: new Worker(url), busy: 0 };
    slot.worker.on('message', (reply: PrepareReply) => {
      // Only a worker with work in hand keeps the process alive.
      if (--slot.busy === 0) slot.worker.unref();
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (!waiter) return;
      if (reply.ok)
        waiter.resolve({ tensor: reply.tensor, decodeMs: reply.decodeMs, preprocessMs: reply.preprocessMs });
      else waiter.reject(reply.code ? new ApiError(reply.code, reply.message) : new Error(reply.message));
    });
    // A worker that dies takes its jobs with it; fail them rather than hang.
    slot.worker.on('error', (error) => {
      for (const [id, waiter] of pending) {
        pending.delete(id);
        waiter.reject(error);
      }
    });
    slot.worker.unref();
    return slot;
  });
  return {
    prepare(bytes, spec, limits) {
      const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
      const id = nextId++;
      if (slot.busy++ === 0) slot.worker.ref();
      return new Promise<Prepared>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const request: PrepareRequest = { id, bytes, spec, limits };
        slot.worker.postMessage(request);
      });
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
