import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues } from '../../shared/api/errors.ts';
import { ApiError } from '../../shared/http/errors.ts';
import type { Reservation } from '../batching/batcher.ts';
import type { AppEnv } from '../http/env.ts';
import type { ModelRegistry, ServedModel } from '../models/registry.ts';
import { asApiError } from './batch-errors.ts';
import { DEADLINE_HEADER, deadlineFrom, requireTimeLeft } from './deadline.ts';
import { readTensorData } from './tensor-data.ts';

// KServe Open Inference Protocol v2 (REST): health, model metadata and readiness, and FP32 tensor inference.
// Each image of an infer request joins the model's batcher on its own, so it batches with other traffic.

export interface OpenInferenceOptions {
  registry: ModelRegistry;
  defaultDeadlineMs: number;
  /** Bounds the values a request can carry, so an impossible shape is refused from the shape alone. */
  maxBodyBytes: number;
  serverVersion: string;
}

// `data` is left unparsed here: a schema for arbitrarily nested arrays recurses once per level, and a
// client can nest thousands deep. The name, datatype and shape are checked first, then readTensorData
// walks `data` no deeper than the shape's rank.

const InferRequestSchema = z.object({
  id: z.string().max(256).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int().min(0)).max(8),
        datatype: z.string(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        data: z.unknown(),
      }),
    )
    .length(1, 'exactly one input tensor is expected'),
  outputs: z.array(z.object({ name: z.string() })).optional(),
});

function modelOr404(registry: ModelRegistry, name: string): ServedModel {
  const model = registry.get(name);
  if (!model) throw new ApiError('not_found', `Model ${name} is not served here.`);
  return model;
}

const roundMs = (ms: number | null) => (ms === null ? null : Math.round(ms * 10) / 10);

function metadata(model: ServedModel) {
  const { manifest, classifier } = model;
  const r = manifest.resolution;
  return {
    name: manifest.id,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: manifest.inputName, datatype: 'FP32', shape: [-1, 3, r, r] }],
    outputs: [{ name: manifest.outputName, datatype: 'FP32', shape: [-1, manifest.classes] }],
    parameters: {
      execution_provider: classifier.provider,
      weights: manifest.weights,
      weight_source: manifest.source,
      preprocess: model.spec,
      // Measured single-image latency on this provider (from ORIGIN_PROFILE or timed at warm-up).
      latency: model.latency,
      max_batch: model.maxBatch,
      // What a request sent now is expected to wait before its own run (also the x-queue-wait-ms header).
      queue_wait: {
        estimate_ms: roundMs(model.batcher.expectedWaitMs()),
        queued: model.batcher.depth,
        image_ms: roundMs(model.batcher.imageMs),
      },
    },
  };
}

export function openInferenceRoutes(options: OpenInferenceOptions) {
  const { registry } = options;
  const app = new Hono<AppEnv>();

  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => {
    const ready = registry.state === 'ready';
    return c.json({ ready }, ready ? 200 : 503);
  });
  app.get('/v2', (c) => c.json({ name: 'gpu-origin', version: options.serverVersion, extensions: [] }));

  app.get('/v2/models/:name', (c) => c.json(metadata(modelOr404(registry, c.req.param('name')))));
  app.get('/v2/models/:name/ready', (c) => {
    const model = modelOr404(registry, c.req.param('name'));
    const ready = registry.state === 'ready';
    return c.json({ name: model.manifest.id, ready }, ready ? 200 : 503);
  });

  app.post('/v2/models/:name/infer', async (c) => {
    const arrivedAt = performance.now();
    const deadlineAt = deadlineFrom(c.req.header(DEADLINE_HEADER), arrivedAt, options.defaultDeadlineMs);
    const model = modelOr404(registry, c.req.param('name'));
    requireTimeLeft(deadlineAt, arrivedAt, c.req.raw);
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      throw new ApiError('invalid_request', 'The body must be a JSON inference request.');
    }
    const parsed = InferRequestSchema.safeParse(json);
    if (!parsed.success) throw new ApiError('invalid_request', describeIssues(parsed.error.issues));
    const request = parsed.data;
    const input = request.inputs[0] as (typeof request.inputs)[number];
    const { manifest, classifier } = model;
    const r = manifest.resolution;

    if (input.name !== manifest.inputName) {
      throw new ApiError('invalid_parameter', `The input must be named "${manifest.inputName}".`);
    }
    if (input.datatype !== 'FP32')
      throw new ApiError('invalid_parameter', 'The input datatype must be FP32.');
    const [n, ...rest] = input.shape;
    if (n === undefined || n < 1 || rest.join(',') !== `3,${r},${r}`) {
      throw new ApiError('invalid_parameter', `The input shape must be [N, 3, ${r}, ${r}] with N >= 1.`);
    }
    for (const out of request.outputs ?? []) {
      if (out.name !== manifest.outputName)
        throw new ApiError('invalid_parameter', `Unknown output "${out.name}".`);
    }
    const perImage = 3 * r * r;
    // JSON needs at least two bytes per number ("0,"): a shape that no admissible body can fill is refused
    // before anything is allocated for it.
    if (n * perImage * 2 - 1 > options.maxBodyBytes) {
      throw new ApiError(
        'invalid_parameter',
        `Shape [${input.shape.join(', ')}] needs ${n * perImage} values, more than a request body can carry.`,
      );
    }
    let place: Reservation;
    try {
      place = model.batcher.reserve(n, deadlineAt);
    } catch (error) {
      throw asApiError(error);
    }
    let outputs: Float32Array[];
    try {
      const tensor = readTensorData(input.data, input.shape);
      outputs = await Promise.all(
        Array.from({ length: n }, (_, i) => place.submit(tensor.subarray(i * perImage, (i + 1) * perImage))),
      );
    } catch (error) {
      throw asApiError(error);
    } finally {
      place.release();
    }
    const data: number[] = [];
    for (const row of outputs) for (const v of row) data.push(v);
    return c.json({
      model_name: manifest.id,
      model_version: '1',
      ...(request.id !== undefined ? { id: request.id } : {}),
      outputs: [{ name: manifest.outputName, datatype: 'FP32', shape: [n, classifier.classes], data }],
    });
  });
  return app;
}
