import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** Every metric the origin exports, created once per server on its own prom-client registry. */
export function createOriginMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'origin_http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'origin_http_request_duration_seconds',
      help: 'HTTP request latency by route.',
      labelNames: ['route'] as const,
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    queueDepth: new Gauge({
      name: 'origin_queue_depth',
      help: 'Requests waiting for a batch, per model.',
      labelNames: ['model'] as const,
      registers,
    }),
    batchSize: new Histogram({
      name: 'origin_batch_size',
      help: 'Images per inference batch.',
      labelNames: ['model'] as const,
      buckets: BATCH_BUCKETS,
      registers,
    }),
    inference: new Histogram({
      name: 'origin_inference_duration_seconds',
      help: 'Time in ONNX Runtime per batch.',
      labelNames: ['model'] as const,
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    rejected: new Counter({
      name: 'origin_batch_rejections_total',
      help: 'Requests refused by the batcher, by model and reason.',
      labelNames: ['model', 'reason'] as const,
      registers,
    }),
    provider: new Gauge({
      name: 'origin_execution_provider',
      help: 'Active execution provider per model (1 = in use).',
      labelNames: ['model', 'provider'] as const,
      registers,
    }),
  };
}

export type OriginMetrics = ReturnType<typeof createOriginMetrics>;
