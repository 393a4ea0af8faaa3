import * as ort from 'onnxruntime-node';
import type { ProviderName } from '../config/config.ts';
import type { Classifier } from './classifier.ts';
import { conciseReason, ProviderError, type ProviderPolicy, providerAttempts } from './providers.ts';

export interface OrtClassifierOptions extends ProviderPolicy {
  name: string;
  modelPath: string;
  inputName: string;
  outputName: string;
  inputSize: number;
  classes: number;
  /** Intra-op threads; 0 lets ORT decide. */
  threads: number;
  log: (line: string) => void;
}

function sessionOptions(provider: ProviderName, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
  };
}

/** ORT reads its log level once, when its environment starts: call before the first session. */
export function setOrtLogLevel(level: (typeof ort.env)['logLevel']): void {
  ort.env.logLevel = level;
}

async function openSession(options: OrtClassifierOptions) {
  const failures: string[] = [];
  for (const provider of providerAttempts(options)) {
    try {
      const session = await ort.InferenceSession.create(
        options.modelPath,
        sessionOptions(provider, options.threads),
      );
      const why = failures.length > 0 ? ` because ${failures.join('; ')}` : '';
      options.log(`${options.name}: execution provider ${provider}${why}`);
      return { session, provider };
    } catch (error) {
      failures.push(`${provider} failed (${conciseReason(error)})`);
    }
  }
  const hint = options.allowCpuFallback
    ? ''
    : '; CPU fallback is disabled (set ORIGIN_ALLOW_CPU_FALLBACK=true or ORIGIN_EXECUTION_PROVIDERS=cpu to run on CPU)';
  throw new ProviderError(`${options.name}: no usable execution provider: ${failures.join('; ')}${hint}`);
}

export async function createOrtClassifier(options: OrtClassifierOptions): Promise<Classifier> {
  const { session, provider } = await openSession(options);
  const { inputName, outputName, inputSize, classes } = options;
  const perImage = 3 * inputSize * inputSize;
  return {
    name: options.name,
    provider,
    inputName,
    outputName,
    inputSize,
    classes,
    async run(batch, count) {
      if (batch.length !== count * perImage) {
        throw new RangeError(`batch holds ${batch.length} floats, expected ${count} x ${perImage}`);
      }
      const input = new ort.Tensor('float32', batch, [count, 3, inputSize, inputSize]);
      const result = await session.run({ [inputName]: input });
      const output = result[outputName];
      if (output?.type !== 'float32')
        throw new Error(`${options.name}: missing float32 output ${outputName}`);
      const data = output.data as Float32Array;
      if (data.length !== count * classes)
        throw new Error(`${options.name}: output has ${data.length} values`);
      // Copy out of ORT's buffer so the tensor can be released.
      const logits = new Float32Array(data);
      input.dispose();
      output.dispose();
      return logits;
    },
    async dispose() {
      await session.release();
    },
  };
}
