// image_url on the origin: the shared fetcher (shared/net/image-fetch.ts) over node:http/https, with the
// one check the edge cannot make. The host name is resolved here (node:dns), every address it resolves
// to is checked by the shared policy, and the connection goes to a checked address only: the socket's
// lookup returns that address, so a second DNS answer (rebinding) never gets a say. TLS still verifies
// the certificate against the host name.
import { lookup } from 'node:dns/promises';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  fetchImageUrl,
  IMAGE_URL_HEADERS,
  type ImageUrlTransport,
  urlForbidden,
} from '../../shared/net/image-fetch.ts';
import { refusedAddress, type UrlPolicy } from '../../shared/net/url-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a name resolves to (as the system resolver answers, e.g. /etc/hosts first). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

export interface OriginImageUrlOptions {
  policy: UrlPolicy;
  timeoutMs: number;
  maxBytes: number;
  /** Tests inject names; the service uses systemResolver. */
  resolve?: Resolver;
}

/** The image bytes at `url`, or ApiError url_forbidden / fetch_failed / unsupported_media_type. */
export function fetchOriginImageUrl(url: string, options: OriginImageUrlOptions): Promise<Uint8Array> {
  return fetchImageUrl(url, {
    policy: options.policy,
    maxBytes: options.maxBytes,
    timeoutMs: options.timeoutMs,
    transport: pinnedTransport(options.policy, options.resolve ?? systemResolver),
  });
}

/** One checked address for the URL's host: a literal one as it is, a name's only if all of its are allowed. */
async function checkedAddress(url: URL, policy: UrlPolicy, resolve: Resolver): Promise<ResolvedAddress> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(host);
  // checkUrl has already refused literal addresses in a refused range.
  if (family !== 0) return { address: host, family: family === 6 ? 6 : 4 };
  const addresses = await resolve(host);
  if (addresses.length === 0) throw new Error(`${host} has no address`);
  // All of them, not just the one used: a name with any private address is not a public host.
  for (const { address } of addresses) {
    const refused = refusedAddress(address, policy);
    if (refused) throw urlForbidden(url.href, `${host} resolves to ${refused}`);
  }
  return addresses[0] as ResolvedAddress;
}

function pinnedTransport(policy: UrlPolicy, resolve: Resolver): ImageUrlTransport {
  const inFlight = new Set<ClientRequest>();
  return {
    get: async (url) => {
      const { address, family } = await checkedAddress(url, policy, resolve);
      const pinned: LookupFunction = (_host, options, callback) => {
        if (options.all) callback(null, [{ address, family }]);
        else callback(null, address, family);
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise((resolveResponse, reject) => {
        const req = send(url, {
          method: 'GET',
          headers: { ...IMAGE_URL_HEADERS },
          lookup: pinned,
          agent: false,
        });
        inFlight.add(req);
        req.on('close', () => inFlight.delete(req));
        req.on('error', reject);
        req.on('response', (res: IncomingMessage) => {
          const chunks = res[Symbol.asyncIterator]();
          resolveResponse({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            contentLength: res.headers['content-length'],
            read: async () => {
              const next = await chunks.next();
              if (next.done) return undefined;
              const chunk = next.value as Buffer;
              return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
            },
            cancel: () => {
              res.destroy();
              req.destroy();
            },
          });
        });
        req.end();
      });
    },
    abort: () => {
      for (const req of inFlight) req.destroy(new Error('the deadline passed'));
    },
  };
}
