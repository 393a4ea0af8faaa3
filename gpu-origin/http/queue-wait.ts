import type { MiddlewareHandler } from 'hono';
import { formatQueueWait, QUEUE_WAIT_HEADER } from '../../shared/http/queue-wait.ts';
import type { ModelRegistry } from '../models/registry.ts';

export interface QueueWaitHeaderOptions {
  registry: ModelRegistry;
}

/**
 * Every response, errors included, tells the caller each model's queue wait estimate as it stands when
 * the response leaves (Batcher.expectedWaitMs): the edge prices origin models with it.
 */
export function queueWaitHeader(options: QueueWaitHeaderOptions): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const models = options.registry.list();
    if (models.length === 0) return;
    c.header(
      QUEUE_WAIT_HEADER,
      formatQueueWait(new Map(models.map((m) => [m.manifest.id, m.batcher.expectedWaitMs()]))),
    );
  };
}
