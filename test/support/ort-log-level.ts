// ONNX Runtime reads its log level once per process, when its first session starts. The in-process
// project runs many files in one process, so set it before any of them does, to the origin's default
// (ORIGIN_ORT_LOG_LEVEL=fatal): a CUDA probe then fails quietly here as it does in a fresh origin.
import * as ort from 'onnxruntime-node';

ort.env.logLevel = 'fatal';
