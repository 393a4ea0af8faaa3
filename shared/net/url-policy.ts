// Which image URLs a service may fetch on a client's behalf. Pure and runtime-neutral: the edge applies it
// to the URL (and to every redirect), the origin also to every address the host name resolves to.
// docs/edge.md and docs/origin.md say what each side checks and why.
import { type HostPattern, isLocalName, isLoopbackName, matchesHost, normalizeHost } from './hosts.ts';
import { parseIp, type SpecialRange, specialRange } from './ip.ts';

export interface UrlPolicy {
  /** When not empty, only hosts matching one of these are fetched. */
  allowHosts: readonly HostPattern[];
  /** Hosts never fetched; wins over allowHosts. */
  denyHosts: readonly HostPattern[];
  /** Ports other than the scheme's default that may be fetched. */
  allowPorts: readonly number[];
  /**
   * Tests only: also fetch http: URLs and loopback hosts (127.0.0.0/8, ::1, localhost) on any port.
   * Every other refused range stays refused. Never set in a deployment.
   */
  unsafeTestLoopback: boolean;
}

export const STRICT_URL_POLICY: UrlPolicy = {
  allowHosts: [],
  denyHosts: [],
  allowPorts: [],
  unsafeTestLoopback: false,
};

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

const RANGE_WORDS: Record<SpecialRange, string> = {
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  cgnat: 'a carrier-grade NAT address',
  metadata: 'a cloud metadata address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  documentation: 'a documentation address',
  'ipv4-in-ipv6': 'an IPv6 address that carries an IPv4 one',
};

/** Why an IP address (a literal host or a resolved one) may not be connected to; undefined if it may. */
export function refusedAddress(address: string, policy: UrlPolicy): string | undefined {
  const ip = parseIp(address);
  if (!ip) return `${address} is not an IP address`;
  const range = specialRange(ip);
  if (range === undefined || (range === 'loopback' && policy.unsafeTestLoopback)) return undefined;
  return `${address} is ${RANGE_WORDS[range]}`;
}

/**
 * Checks an image URL before it is fetched (and each redirect target before it is followed). What it
 * cannot see is where a name resolves: the origin checks that (refusedAddress on each address).
 */
export function checkUrl(text: string, policy: UrlPolicy): UrlVerdict {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'it is not an absolute URL' };
  }
  const refuse = (reason: string): UrlVerdict => ({ ok: false, reason });
  const http = url.protocol === 'http:';
  if (url.protocol !== 'https:' && !(http && policy.unsafeTestLoopback))
    return refuse(`only https: URLs are fetched, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') return refuse('URLs with credentials are not fetched');

  // WHATWG URL has already turned every IPv4 spelling (decimal, octal, hex, short) into a dotted quad
  // and bracketed IPv6; parseIp accepts those spellings too, so nothing slips past as a "name".
  const host = normalizeHost(url.hostname);
  if (host === '') return refuse('the URL has no host');
  const ip = parseIp(host);
  const loopbackHost = ip ? specialRange(ip) === 'loopback' : isLoopbackName(host);
  if (ip) {
    const refused = refusedAddress(host, policy);
    if (refused) return refuse(refused);
  } else if (isLocalName(host) && !(loopbackHost && policy.unsafeTestLoopback)) {
    return refuse(`${host} names a local or internal host`);
  }
  if (http && !loopbackHost) return refuse(`only https: URLs are fetched, not ${url.protocol}`);

  if (matchesHost(host, policy.denyHosts)) return refuse(`${host} is on the deny list`);
  if (policy.allowHosts.length > 0 && !matchesHost(host, policy.allowHosts))
    return refuse(`${host} is not on the allow list`);

  // url.port is empty for the scheme's default port.
  const testPort = loopbackHost && policy.unsafeTestLoopback;
  if (url.port !== '' && !testPort && !policy.allowPorts.includes(Number(url.port)))
    return refuse(`port ${url.port} is not allowed`);
  url.hash = '';
  return { ok: true, url };
}

/** A URL for messages: no query (it may carry tokens), shortened. */
export function describeUrl(url: string): string {
  let shown = url;
  try {
    const parsed = new URL(url);
    shown = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    // Not a URL: show the start of the text.
  }
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
}
