import type { RequestIdVariables } from '../../shared/http/request-id.ts';

/** Hono context variables set by the origin's middleware. */
export type AppEnv = {
  Variables: RequestIdVariables & {
    signingKeyId: string;
  };
};
