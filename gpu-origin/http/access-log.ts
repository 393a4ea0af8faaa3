import type { MiddlewareHandler } from 'hono';

export interface AccessLogOptions {
  log: (line: string) => void;
  /** Paths not logged: probes and scrapes would drown the rest. */
  skip: ReadonlySet<string>;
}

/** One JSON line per request with its id, which the edge logs too for the requests it forwards. */
export function accessLog({ log, skip }: AccessLogOptions): MiddlewareHandler {
  return async (c, next) => {
    if (skip.has(c.req.path)) return next();
    const started = performance.now();
    await next();
    log(
      JSON.stringify({
        msg: 'request',
        request_id: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      }),
    );
  };
}
