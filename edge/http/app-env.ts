import type { RequestIdVariables } from '../../shared/http/request-id.ts';

/** Hono's type parameters for every route of this Worker. */
export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & {
    body?: Uint8Array;
    /** Where a raw JPEG upload is read into (EdgeCompute.uploadBuffer). */
    uploadBuffer?: (length: number) => Uint8Array;
  };
};
