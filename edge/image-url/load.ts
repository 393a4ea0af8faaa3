// image_url on the edge: the shared fetcher (shared/net/image-fetch.ts) over the Worker's fetch().
// Workers have no DNS API, so the edge checks the URL itself (scheme, credentials, literal addresses,
// local names, ports, allow/deny lists) and every redirect; where a name resolves is checked by the
// origin, which can resolve it. On Cloudflare a Worker's fetch() leaves through Cloudflare's network and
// cannot reach private addresses behind it; docs/edge.md says what local workerd can reach.
import { fetchImageUrl, IMAGE_URL_HEADERS, type ImageUrlTransport } from '../../shared/net/image-fetch.ts';
import { edgeConfig } from '../config.ts';

/** The image bytes at `url`, or ApiError url_forbidden / fetch_failed / unsupported_media_type. */
export async function loadImageUrl(env: Env, url: string): Promise<Uint8Array> {
  const config = edgeConfig(env);
  if (config.imageUrl.policy.unsafeTestLoopback && !warned.has(env)) {
    warned.add(env);
    console.warn(
      JSON.stringify({
        msg: 'IMAGE_URL_UNSAFE_TEST_LOOPBACK=1: image_url may fetch http: and loopback addresses. Tests only.',
      }),
    );
  }
  return fetchImageUrl(url, {
    policy: config.imageUrl.policy,
    maxBytes: config.maxBodyBytes,
    timeoutMs: config.imageUrl.timeoutMs,
    transport: fetchTransport(),
  });
}

// Said once per isolate (the env object lives as long as the isolate).
const warned = new WeakSet<object>();

function fetchTransport(): ImageUrlTransport {
  const controller = new AbortController();
  return {
    get: async (url) => {
      const response = await fetch(url.href, {
        method: 'GET',
        // Each redirect is checked by the policy before it is followed.
        redirect: 'manual',
        signal: controller.signal,
        headers: { ...IMAGE_URL_HEADERS },
      });
      const reader = response.body?.getReader();
      return {
        status: response.status,
        location: response.headers.get('location') ?? undefined,
        contentLength: response.headers.get('content-length') ?? undefined,
        read: async () => {
          if (!reader) return undefined;
          const { done, value } = await reader.read();
          return done ? undefined : value;
        },
        cancel: () => {
          reader?.cancel().catch(() => undefined);
        },
      };
    },
    abort: () => controller.abort(),
  };
}
