import { OpenAPIHono } from '@hono/zod-openapi';
import { describeIssues, type ErrorCode } from '../../shared/api/errors.ts';
import { errorHandler, notFound, sendError } from '../../shared/http/errors.ts';
import type { AppEnv } from './app-env.ts';

/** An OpenAPIHono whose validation failures, thrown errors and unknown paths all answer with our envelope. */
export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      // A missing or broken image is a request problem; everything else is a parameter problem.
      const aboutImage = result.error.issues.some((issue) => issue.path[0] === 'image');
      const code: ErrorCode = aboutImage ? 'invalid_request' : 'invalid_parameter';
      return sendError(c, code, describeIssues(result.error.issues));
    },
  });
  app.onError(errorHandler({ log: (line) => console.error(line) }));
  app.notFound(notFound());
  return app;
}
