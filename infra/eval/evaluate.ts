import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { countMacs, MacCountError } from '../../shared/onnx/macs.ts';
import type { PreprocessSpec } from '../../shared/preprocess/index.ts';
import { type Accuracy, accuracyOf, type CascadePoint, type ScoredImage, sweep } from './cascade.ts';
import type { EvalModel } from './catalog.ts';
import { openClassifier } from './classifier.ts';
import { decodeImage, readLabels } from './dataset.ts';
import { parseOnnx } from './onnx-graph.ts';

export interface EvalOptions {
  readonly dataDir: string;
  readonly edge: EvalModel;
  readonly origin: EvalModel;
  readonly thresholds: readonly number[];
  /** Evaluate only the first N images of labels.tsv. */
  readonly limit?: number;
  readonly threads?: number;
}

export interface ModelReport extends Accuracy {
  readonly name: string;
  readonly file: string;
  readonly macs: number;
  readonly macsSource: 'counted from the ONNX graph' | 'catalog';
  readonly publishedMacs: number | null;
  readonly preprocess: PreprocessSpec;
  readonly output: EvalModel['output'];
  readonly labelOffset: number;
  readonly reference: Accuracy | null;
}

export interface EvalReport {
  readonly data: { readonly dir: string; readonly images: number };
  readonly edge: ModelReport;
  readonly origin: ModelReport;
  readonly cascade: readonly CascadePoint[];
  /** Per image, for recounts: label, both models' top-5 and confidence. */
  readonly images: readonly (ScoredImage & { readonly file: string })[];
}

/** Counted from the graph when every operator is understood; the catalog's figure otherwise. */
export function modelMacs(model: EvalModel): { macs: number; source: ModelReport['macsSource'] } {
  try {
    return {
      macs: countMacs(parseOnnx(readFileSync(model.path))).macs,
      source: 'counted from the ONNX graph',
    };
  } catch (e) {
    if (!(e instanceof MacCountError) || model.publishedMacs === undefined) throw e;
    return { macs: model.publishedMacs, source: 'catalog' };
  }
}

function modelReport(model: EvalModel, accuracy: Accuracy): ModelReport {
  const { macs, source } = modelMacs(model);
  return {
    name: model.name,
    file: basename(model.path),
    ...accuracy,
    macs,
    macsSource: source,
    publishedMacs: model.publishedMacs ?? null,
    preprocess: model.preprocess,
    output: model.output,
    labelOffset: model.labelOffset,
    reference: model.reference ?? null,
  };
}

export async function evaluate(options: EvalOptions): Promise<EvalReport> {
  const labelled = readLabels(options.dataDir, options.limit);
  const threads = options.threads ?? 1;
  const edge = await openClassifier(options.edge, threads);
  const origin = await openClassifier(options.origin, threads);
  const images: (ScoredImage & { file: string })[] = [];
  try {
    for (const item of labelled) {
      const pixels = await decodeImage(item.file);
      // Both models always run so that every threshold can be scored from one pass.
      images.push({
        file: basename(item.file),
        label: item.label,
        edge: await edge.classify(pixels),
        origin: await origin.classify(pixels),
      });
    }
  } finally {
    await edge.close();
    await origin.close();
  }
  const labels = images.map((s) => s.label);
  const edgeReport = modelReport(
    options.edge,
    accuracyOf(
      labels,
      images.map((s) => s.edge),
    ),
  );
  const originReport = modelReport(
    options.origin,
    accuracyOf(
      labels,
      images.map((s) => s.origin),
    ),
  );
  return {
    data: { dir: options.dataDir, images: images.length },
    edge: edgeReport,
    origin: originReport,
    cascade: sweep(images, options.thresholds, { edge: edgeReport.macs, origin: originReport.macs }),
    images,
  };
}
