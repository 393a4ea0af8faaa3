import type { Context } from 'hono';
import { ERROR_STATUS } from '../../shared/api/errors.ts';
import { type ErrorWriter, writeEnvelope } from '../../shared/http/errors.ts';

// The Open Inference Protocol (KServe v2) answers errors as { "error": "<message>" }, and its clients
// (Triton's, KServe's) read that string. Under /v2 the status stays ours; the code goes in a header.

export const ERROR_CODE_HEADER = 'x-error-code';

export const writeOpenInferenceError: ErrorWriter = (c, code, message) => {
  c.header(ERROR_CODE_HEADER, code);
  return c.json({ error: message }, ERROR_STATUS[code]);
};

/** The KServe shape under /v2, our envelope everywhere else. */
export function errorWriterFor(c: Context): ErrorWriter {
  return c.req.path === '/v2' || c.req.path.startsWith('/v2/') ? writeOpenInferenceError : writeEnvelope;
}
