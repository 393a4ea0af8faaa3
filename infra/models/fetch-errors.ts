// Turns transport failures and hub status codes into one actionable sentence each.

export type FetchErrorCode =
  | 'offline'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'http'
  | 'checksum'
  | 'interrupted'
  | 'aborted'
  | 'invalid';

export class FetchError extends Error {
  constructor(
    readonly code: FetchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FetchError';
  }
}

const REASONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'DNS lookup failed',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

/** Why a request never got a response: the innermost cause's code, in words. */
export function describeTransportFailure(error: unknown): string {
  let cause: unknown = error;
  // fetch wraps the socket error: TypeError('fetch failed', { cause: Error { code } }).
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return REASONS[code] ? `${REASONS[code]} (${code})` : code;
  return cause instanceof Error ? cause.message : String(cause);
}

export function offlineError(host: string, error: unknown): FetchError {
  return new FetchError(
    'offline',
    `cannot reach ${host}: ${describeTransportFailure(error)}; pretrained weights need internet access; ` +
      'build untrained ones with --weights random',
    { cause: error },
  );
}

export interface HttpErrorContext {
  repo: string;
  file: string;
  revision: string;
  endpoint: string;
}

/** Explains a final non-success status of the resolve request. */
export function httpError(response: Response, url: URL, ctx: HttpErrorContext): FetchError {
  const hubCode = response.headers.get('x-error-code');
  const hubMessage = response.headers.get('x-error-message');
  const detail = hubMessage ? ` (${hubMessage})` : '';
  const host = url.host;
  switch (response.status) {
    case 401:
      return new FetchError(
        'unauthorized',
        `${host} refused ${ctx.repo} with HTTP 401${detail}: the repository does not exist, or it is ` +
          'private or gated and needs a token; check the name, or set HF_TOKEN to a token that can read it',
      );
    case 403:
      return new FetchError(
        'forbidden',
        `${host} forbids access to ${ctx.repo} (HTTP 403)${detail}: if the repository is gated, accept its ` +
          `terms at ${ctx.endpoint}/${ctx.repo} and set HF_TOKEN`,
      );
    case 404:
      return new FetchError(
        'not_found',
        hubCode === 'RepoNotFound'
          ? `repository ${ctx.repo} not found on ${host} (HTTP 404)`
          : `${ctx.repo} has no file ${ctx.file} at revision ${ctx.revision} (HTTP 404 from ${host})${detail}`,
      );
    default:
      return new FetchError(
        'http',
        `${host} answered HTTP ${response.status} ${response.statusText} for ${url.href}${detail}`,
      );
  }
}
