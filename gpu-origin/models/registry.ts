import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { imagenetLabel, labelOffsetFor } from '../../shared/catalog/labels.ts';
import type { MeasuredProfile } from '../../shared/catalog/profile.ts';
import type { PreprocessSpec } from '../../shared/preprocess/spec.ts';
import { Batcher } from '../batching/batcher.ts';
import { ConfigError } from '../config/config.ts';
import type { Classifier } from '../inference/classifier.ts';
import { createOrtClassifier, type OrtClassifierOptions } from '../inference/ort-classifier.ts';
import type { ProviderPolicy } from '../inference/providers.ts';
import type { OriginMetrics } from '../metrics/origin-metrics.ts';
import {
  type MaxBatch,
  type ModelLatency,
  maxBatchFor,
  profiledRow,
  profileLatency,
  timeWarmRuns,
  type WarmupOptions,
} from './latency.ts';
import { type ModelManifest, preprocessSpecOf, readManifest } from './manifest.ts';

export interface ServedModel {
  readonly manifest: ModelManifest;
  readonly spec: PreprocessSpec;
  readonly classifier: Classifier;
  readonly batcher: Batcher;
  /** Measured single-image latency on the provider in use; null when neither profiled nor timed. */
  readonly latency: ModelLatency | null;
  readonly maxBatch: MaxBatch;
  label(outputIndex: number): { index: number; label: string };
}

export interface BatchingOptions {
  windowMs: number;
  /** Explicit setting; null takes each model's best batch from the profile (else the default). */
  maxBatch: number | null;
  maxQueue: number;
}

export interface ModelRegistryOptions extends ProviderPolicy {
  modelsDir: string;
  /** Directory names under modelsDir; empty means every directory holding a model.json. */
  models: readonly string[];
  threads: number;
  batching: BatchingOptions;
  /** Measured latencies and best batches (ORIGIN_PROFILE); models it lacks are timed at warm-up. */
  profile?: MeasuredProfile | null;
  warmup?: WarmupOptions;
  metrics: OriginMetrics;
  log: (line: string) => void;
  createClassifier?: (options: OrtClassifierOptions) => Promise<Classifier>;
}

export type RegistryState = 'loading' | 'ready' | 'draining' | 'failed';

export class ModelRegistry {
  private readonly models = new Map<string, ServedModel>();
  state: RegistryState = 'loading';

  constructor(private readonly options: ModelRegistryOptions) {}

  get(id: string): ServedModel | undefined {
    return this.models.get(id);
  }

  list(): ServedModel[] {
    return [...this.models.values()];
  }

  /** Loads and warms every configured model; the service is ready only after this resolves. */
  async load(): Promise<void> {
    try {
      const dirs = await this.modelDirs();
      for (const dir of dirs) {
        const model = await this.loadOne(join(this.options.modelsDir, dir));
        this.models.set(model.manifest.id, model);
      }
      if (this.state === 'loading') this.state = 'ready';
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
  }

  /** Refuses new work and waits for queued and running batches. */
  async drain(): Promise<void> {
    this.state = 'draining';
    await Promise.all(this.list().map((m) => m.batcher.drain()));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.list().map((m) => m.classifier.dispose()));
    this.models.clear();
  }

  private async modelDirs(): Promise<string[]> {
    const { modelsDir, models } = this.options;
    if (models.length > 0) return [...models];
    let entries: string[];
    try {
      entries = (await readdir(modelsDir)).sort();
    } catch {
      throw new ConfigError(`models directory ${modelsDir} cannot be read; set ORIGIN_MODELS_DIR`);
    }
    const found: string[] = [];
    for (const entry of entries) {
      if (await exists(join(modelsDir, entry, 'model.json'))) found.push(entry);
    }
    if (found.length === 0) {
      throw new ConfigError(`no models in ${modelsDir}; build one with \`npm run models -- build b5\``);
    }
    return found;
  }

  private async loadOne(dir: string): Promise<ServedModel> {
    const { metrics, batching } = this.options;
    const manifest = await readManifest(dir);
    const spec = preprocessSpecOf(manifest);
    const started = performance.now();
    const classifier = await (this.options.createClassifier ?? createOrtClassifier)({
      name: manifest.id,
      modelPath: manifest.modelPath,
      inputName: manifest.inputName,
      outputName: manifest.outputName,
      inputSize: manifest.resolution,
      classes: manifest.classes,
      threads: this.options.threads,
      providers: this.options.providers,
      allowCpuFallback: this.options.allowCpuFallback,
      log: this.options.log,
    });
    const labels = { model: manifest.id };
    const row = profiledRow(this.options.profile ?? null, manifest, classifier.provider);
    const maxBatch = maxBatchFor(batching.maxBatch, row);
    // The first run allocates memory arenas and (on GPU) picks kernels; do it before declaring readiness.
    const timed = await timeWarmRuns(
      classifier,
      row ? { runs: 0, budgetMs: 0 } : (this.options.warmup ?? NO_TIMING),
    );
    const latency =
      row && this.options.profile ? profileLatency(this.options.profile, row, classifier.provider) : timed;
    const batcher = new Batcher({
      name: manifest.id,
      windowMs: batching.windowMs,
      maxQueue: batching.maxQueue,
      maxBatch: maxBatch.value,
      // Its queue wait estimate prices images at the measured p50 until batches have run here.
      ...(latency ? { imageMs: latency.p50_ms } : {}),
      runBatch: async (batch, count) => {
        const t = performance.now();
        const out = await classifier.run(batch, count);
        metrics.inference.observe(labels, (performance.now() - t) / 1000);
        return out;
      },
      onQueueDepth: (depth) => metrics.queueDepth.set(labels, depth),
      onBatch: (size) => metrics.batchSize.observe(labels, size),
      onReject: (reason) => metrics.rejected.inc({ ...labels, reason }),
    });
    metrics.provider.set({ ...labels, provider: classifier.provider }, 1);
    metrics.queueDepth.set(labels, 0);
    const speed = latency
      ? `p50 ${latency.p50_ms} ms, p95 ${latency.p95_ms} ms (${latency.source})`
      : 'latency not measured';
    this.options.log(
      `${manifest.id}: loaded and warmed in ${Math.round(performance.now() - started)} ms; ${speed}; max batch ${maxBatch.value} (${maxBatch.source})`,
    );
    const offset = labelOffsetFor(manifest.classes);
    const imagenet = manifest.classes - offset === 1000;
    return {
      manifest,
      spec,
      classifier,
      batcher,
      latency,
      maxBatch,
      label: (outputIndex) => {
        const index = outputIndex - offset;
        return { index, label: imagenet ? imagenetLabel(index) : `class ${index}` };
      },
    };
  }
}

const NO_TIMING: WarmupOptions = { runs: 0, budgetMs: 0 };

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
