// The edge Worker: the app of edge/app.ts with its real runtimes, the image codecs and onnxruntime-web
// (WASM in workerd) and the R2 model bucket.
import { createEdgeApp } from './app.ts';
import { bucketWeightsChecksum, weightsChecksum } from './cache/checksum.ts';
import { workersResultStore } from './cache/store.ts';
import { runEdgeModel } from './classify/edge-run.ts';
import { decodeProbed } from './classify/image-tensor.ts';
import { debugRoutes } from './debug/route.ts';
import { codecHeapBuffer } from './image/jpeg-turbo.ts';
import { isLoaded, loadedModel } from './inference/registry.ts';
import { readManifest } from './models/store.ts';

const app = createEdgeApp({
  decode: decodeProbed,
  runModel: runEdgeModel,
  isLoaded,
  weightsOf: async (env, model) => (await readManifest(env.MODELS, model).catch(() => null))?.weights,
  resultCache: {
    store: workersResultStore,
    // A loaded edge model answers with the weights it loaded, whatever the bucket holds now.
    checksumOf: async (env, model) =>
      isLoaded(model)
        ? weightsChecksum((await loadedModel(env, model)).manifest)
        : bucketWeightsChecksum(env, model),
  },
  uploadBuffer: codecHeapBuffer,
  debugRoutes: debugRoutes(),
});

export default app satisfies ExportedHandler<Env>;
