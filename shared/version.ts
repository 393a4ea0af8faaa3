/** The product version both services report (OpenAPI info, KServe server metadata, ONNX producer). */
export const VERSION = '0.1.0';
