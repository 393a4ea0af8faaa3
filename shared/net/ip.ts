// IP literals and the special-purpose ranges a fetch on a client's behalf must never reach. Pure: used by
// the edge on URL hosts and by the origin on every address a name resolves to.

/** Why an address is refused; undefined for an ordinary public unicast address. */
export type SpecialRange =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'metadata'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'ipv4-in-ipv6';

export type IpAddress = { version: 4; value: number } | { version: 6; value: bigint };

/**
 * An IPv4 address in any form WHATWG URL and inet_aton accept: 1 to 4 parts, each decimal, octal (leading
 * 0) or hex (0x), the last part filling the remaining bytes ("2130706433", "0x7f.1", "0177.0.0.01").
 */
export function parseIPv4(text: string): number | undefined {
  const parts = text.endsWith('.') ? text.slice(0, -1).split('.') : text.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = Number.parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part);
    else return undefined;
    if (!Number.isSafeInteger(n)) return undefined;
    numbers.push(n);
  }
  const last = numbers.pop() as number;
  if (numbers.some((n) => n > 255)) return undefined;
  if (last >= 256 ** (4 - numbers.length)) return undefined;
  return numbers.reduce((sum, n, i) => sum + n * 256 ** (3 - i), 0) + last;
}

/** An IPv6 address, with or without brackets, "::" compression and a trailing dotted IPv4 part. */
export function parseIPv6(input: string): bigint | undefined {
  let text = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  // A zone id ("fe80::1%eth0") names an interface on this machine: never a public address.
  if (text.includes('%')) text = text.slice(0, text.indexOf('%'));
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return undefined;
  const lastColon = text.lastIndexOf(':');
  const dotted = text.slice(lastColon + 1);
  if (dotted.includes('.')) {
    // "::ffff:1.2.3.4": the dotted part, strictly four decimal bytes, is the last two groups.
    const embedded = /^\d{1,3}(\.\d{1,3}){3}$/.test(dotted) ? parseIPv4(dotted) : undefined;
    if (embedded === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(embedded >>> 16).toString(16)}:${(embedded & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0] ?? '');
  const rest = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const hexGroups = [...head, ...rest];
  if (hexGroups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const count = hexGroups.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const zeros = halves.length === 2 ? 8 - count : 0;
  const all = [
    ...head.map((g) => Number.parseInt(g, 16)),
    ...Array<number>(zeros).fill(0),
    ...rest.map((g) => Number.parseInt(g, 16)),
  ];
  return all.reduce((sum, g) => (sum << 16n) | BigInt(g), 0n);
}

/** A host as an IP address, or undefined for a name. */
export function parseIp(host: string): IpAddress | undefined {
  const v6 = parseIPv6(host);
  if (v6 !== undefined) return { version: 6, value: v6 };
  const v4 = parseIPv4(host);
  return v4 === undefined ? undefined : { version: 4, value: v4 };
}

const v4 = (dotted: string) => parseIPv4(dotted) as number;
const v6 = (text: string) => parseIPv6(text) as bigint;

// Ranges from the IANA special-purpose registries (RFC 6890 and its updates). Order matters only where a
// range sits inside another: the more specific one comes first, so its reason is the one given.
const V4_RANGES: readonly [number, number, SpecialRange][] = [
  [v4('169.254.169.254'), 32, 'metadata'],
  [v4('100.100.100.200'), 32, 'metadata'],
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'cgnat'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'],
  [v4('192.0.2.0'), 24, 'documentation'],
  [v4('192.88.99.0'), 24, 'reserved'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'reserved'],
  [v4('198.51.100.0'), 24, 'documentation'],
  [v4('203.0.113.0'), 24, 'documentation'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

/** The special range an IPv4 address falls in, if any. */
export function ipv4Range(address: number): SpecialRange | undefined {
  for (const [base, bits, range] of V4_RANGES) {
    const size = 2 ** (32 - bits);
    if (address >= base && address < base + size) return range;
  }
  return undefined;
}

const V6_RANGES: readonly [bigint, number, SpecialRange][] = [
  [v6('fd00:ec2::254'), 128, 'metadata'],
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('fc00::'), 7, 'private'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'private'],
  [v6('ff00::'), 8, 'multicast'],
  [v6('2001:db8::'), 32, 'documentation'],
  [v6('3fff::'), 20, 'documentation'],
  // Teredo, ORCHID and other protocol assignments; 6to4 embeds an IPv4 address that could be anything.
  [v6('2001::'), 23, 'reserved'],
  [v6('2002::'), 16, 'ipv4-in-ipv6'],
];

const MAPPED_V4 = v6('::ffff:0:0');
const NAT64 = v6('64:ff9b::');

/**
 * The special range an IPv6 address falls in, if any. Only global unicast (2000::/3) can be public, so
 * everything outside it is refused (fail closed); an address carrying an IPv4 one is judged by that.
 */
export function ipv6Range(address: bigint): SpecialRange | undefined {
  const inPrefix = (base: bigint, bits: number) =>
    address >> BigInt(128 - bits) === base >> BigInt(128 - bits);
  // ::ffff:a.b.c.d reaches a.b.c.d; 64:ff9b::a.b.c.d reaches it through NAT64.
  if (inPrefix(MAPPED_V4, 96) || inPrefix(NAT64, 96)) {
    const embedded = Number(address & 0xffffffffn);
    return ipv4Range(embedded) ?? (inPrefix(MAPPED_V4, 96) ? undefined : 'ipv4-in-ipv6');
  }
  for (const [base, bits, range] of V6_RANGES) if (inPrefix(base, bits)) return range;
  if (!inPrefix(v6('2000::'), 3)) return address >> 96n === 0n ? 'ipv4-in-ipv6' : 'reserved';
  return undefined;
}

/** The special range of a parsed address, if any. */
export function specialRange(address: IpAddress): SpecialRange | undefined {
  return address.version === 4 ? ipv4Range(address.value) : ipv6Range(address.value);
}
