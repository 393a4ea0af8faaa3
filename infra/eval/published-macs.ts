// Published multiply-accumulate counts for the MobileNet checkpoints (TF-slim model tables), keyed by
// the ONNX file name. The eval counts MACs from the graph itself and reports these beside the count as
// a cross-check; they are used only when a graph contains an operator the counter does not know.
// The graph counts agree within 1% except v1_0.75_192 (counted 239.3M): the published 233M equals
// the count without the first 3x3 convolution (6.0M), so that table row appears to omit it.
export const PUBLISHED_MACS: Readonly<Record<string, number>> = {
  'mobilenet_v1_0.25_128.onnx': 14e6,
  'mobilenet_v1_0.5_160.onnx': 77e6,
  'mobilenet_v1_0.75_192.onnx': 233e6,
  'mobilenet_v2_1.0_224.onnx': 300e6,
};
