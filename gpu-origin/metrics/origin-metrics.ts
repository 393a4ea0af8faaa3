import { Counter, Gauge, Histogram, Registry } from './registry.ts';

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** Every metric the origin exports, created once per server. */
export function createOriginMetrics() {
  const registry = new Registry();
  return {
    registry,
    requests: registry.register(
      new Counter('origin_http_requests_total', 'HTTP requests by route and status.'),
    ),
    latency: registry.register(
      new Histogram(
        'origin_http_request_duration_seconds',
        'HTTP request latency by route.',
        LATENCY_BUCKETS_S,
      ),
    ),
    queueDepth: registry.register(
      new Gauge('origin_queue_depth', 'Requests waiting for a batch, per model.'),
    ),
    batchSize: registry.register(
      new Histogram('origin_batch_size', 'Images per inference batch.', BATCH_BUCKETS),
    ),
    inference: registry.register(
      new Histogram(
        'origin_inference_duration_seconds',
        'Time in ONNX Runtime per batch.',
        LATENCY_BUCKETS_S,
      ),
    ),
    rejected: registry.register(
      new Counter('origin_batch_rejections_total', 'Requests refused by the batcher, by model and reason.'),
    ),
    provider: registry.register(
      new Gauge('origin_execution_provider', 'Active execution provider per model (1 = in use).'),
    ),
  };
}

export type OriginMetrics = ReturnType<typeof createOriginMetrics>;
