// The edge Worker: the app of edge/app.ts with its real runtimes, the image codecs and onnxruntime-web
// (WASM in workerd) and the R2 model bucket.
import { createEdgeApp } from './app.ts';
import { runEdgeModel } from './classify/edge-run.ts';
import { decodeProbed } from './classify/image-tensor.ts';
import { debugRoutes } from './debug/route.ts';
import { codecHeapBuffer } from './image/jpeg-turbo.ts';
import { isLoaded } from './inference/registry.ts';
import { readManifest } from './models/store.ts';

const app = createEdgeApp({
  decode: decodeProbed,
  runModel: runEdgeModel,
  isLoaded,
  weightsOf: async (env, model) => (await readManifest(env.MODELS, model).catch(() => null))?.weights,
  uploadBuffer: codecHeapBuffer,
  debugRoutes: debugRoutes(),
});

export default app satisfies ExportedHandler<Env>;
