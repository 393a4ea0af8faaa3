import { parentPort } from 'node:worker_threads';
import { ApiError } from '../../shared/http/errors.ts';
import type { PreprocessSpec } from '../../shared/preprocess/spec.ts';
import type { DecodeLimits } from './decode.ts';
import { decodeAndPreprocess } from './prepare.ts';

// Worker-thread side of PreprocessPool: decode and preprocess one image per message.

export interface PrepareRequest {
  id: number;
  bytes: Uint8Array;
  spec: PreprocessSpec;
  limits: DecodeLimits;
}

export type PrepareReply =
  | { id: number; ok: true; tensor: Float32Array; decodeMs: number; preprocessMs: number }
  | { id: number; ok: false; code: ApiError['code'] | null; message: string };

parentPort?.on('message', async (request: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    const result = await decodeAndPreprocess(request.bytes, request.spec, request.limits);
    reply = { id: request.id, ok: true, ...result };
    parentPort?.postMessage(reply, [result.tensor.buffer as ArrayBuffer]);
    return;
  } catch (error) {
    reply = {
      id: request.id,
      ok: false,
      code: error instanceof ApiError ? error.code : null,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  parentPort?.postMessage(reply);
});
