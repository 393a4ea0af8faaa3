// The seam between the HTTP layer and a runtime: the edge runs ORT-web, the origin its own ORT-node.
import { type Ort, withOrt } from './ort-wasm-shim.ts';

export interface Classifier {
  /** Runs one forward pass on an NCHW float32 tensor and returns the raw logits. */
  run(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

export interface OrtWebModel {
  graph: Uint8Array;
  /** ONNX external data files, keyed by the location the graph names (e.g. "model.onnx.data"). */
  externalData?: ReadonlyArray<{ path: string; data: Uint8Array }>;
  inputName: string;
  outputName: string;
  /** The manifest says onnxruntime already optimised this graph (an ONNX file saved after optimisation). */
  preoptimized?: boolean;
  /**
   * The input's [channels, height, width] as model.json gives them. A graph that declares other fixed sizes
   * is refused when its session is created, instead of being kept and failing every run.
   */
  inputSize?: readonly number[];
}

/** The graph's declared input disagrees with what model.json says it takes. */
export class GraphInputMismatchError extends Error {
  override name = 'GraphInputMismatchError';
}

export interface OrtWebOptions {
  graphOptimization?: GraphOptimization;
}

/**
 * Graphs onnxruntime already optimised load with optimisation off, because optimising again only costs
 * the first request (infra/bench/edge-cold.ts): ONNX saved after optimisation (the manifest says so,
 * infra/models/preoptimize.ts) and ORT-format graphs (a FlatBuffer with file identifier "ORTM" at byte 4).
 */
export function isOrtFormat(graph: Uint8Array): boolean {
  return graph.length > 8 && graph[4] === 0x4f && graph[5] === 0x52 && graph[6] === 0x54 && graph[7] === 0x4d;
}

type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

/** The input's declared shape; undefined when the graph declares none (ORT reports an empty one). */
function declaredShape(
  metadata: Session['inputMetadata'],
  name: string,
): ReadonlyArray<number | string> | undefined {
  const input = metadata.find((m) => m.name === name);
  return input?.isTensor && input.shape.length > 0 ? input.shape : undefined;
}

/** Named (symbolic) dimensions agree with any size; fixed ones must be equal. */
function disagrees(declared: ReadonlyArray<number | string>, expected: readonly number[]): boolean {
  return (
    declared.length !== expected.length || declared.some((d, i) => typeof d === 'number' && d !== expected[i])
  );
}

export class OrtWebClassifier implements Classifier {
  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    private readonly inputName: string,
    private readonly outputName: string,
  ) {}

  static async create(model: OrtWebModel, options: OrtWebOptions = {}): Promise<OrtWebClassifier> {
    return withOrt(async (ort) => {
      const session = await ort.InferenceSession.create(model.graph, {
        executionProviders: ['wasm'],
        graphOptimizationLevel:
          model.preoptimized || isOrtFormat(model.graph) ? 'disabled' : (options.graphOptimization ?? 'all'),
        ...(model.externalData ? { externalData: [...model.externalData] } : {}),
      });
      if (!session.inputNames.includes(model.inputName) || !session.outputNames.includes(model.outputName)) {
        await session.release();
        throw new Error(
          `graph has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}], expected ${model.inputName} -> ${model.outputName}`,
        );
      }
      const declared = declaredShape(session.inputMetadata, model.inputName);
      if (model.inputSize && declared && disagrees(declared.slice(1), model.inputSize)) {
        await session.release();
        throw new GraphInputMismatchError(
          `its graph declares ${model.inputName} as [${declared.join(', ')}] but model.json says [batch, ${model.inputSize.join(', ')}]`,
        );
      }
      return new OrtWebClassifier(ort, session, model.inputName, model.outputName);
    });
  }

  async run(input: Float32Array, dims: readonly number[]): Promise<Float32Array> {
    const tensor = new this.ort.Tensor('float32', input, dims);
    const outputs = await this.session.run({ [this.inputName]: tensor });
    const logits = outputs[this.outputName];
    if (logits?.type !== 'float32') throw new Error(`output ${this.outputName} is missing or not float32`);
    const data = logits.data as Float32Array;
    // Copy out of the WASM heap view before the tensor is disposed.
    const copy = data.slice();
    logits.dispose();
    return copy;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
