// shared/net: the image URL policy, its IP ranges and host patterns, case by case.
import { describe, expect, it } from 'vitest';
import { isLocalName, matchesHost, parseHostPatterns } from '../../shared/net/hosts.ts';
import { parseIPv4, parseIPv6, parseIp, specialRange } from '../../shared/net/ip.ts';
import {
  checkUrl,
  describeUrl,
  refusedAddress,
  STRICT_URL_POLICY,
  type UrlPolicy,
} from '../../shared/net/url-policy.ts';

const TEST_LOOPBACK: UrlPolicy = { ...STRICT_URL_POLICY, unsafeTestLoopback: true };

function refusal(url: string, policy: UrlPolicy = STRICT_URL_POLICY): string {
  const verdict = checkUrl(url, policy);
  if (verdict.ok) throw new Error(`${url} was accepted`);
  return verdict.reason;
}

function accepted(url: string, policy: UrlPolicy = STRICT_URL_POLICY): string {
  const verdict = checkUrl(url, policy);
  if (!verdict.ok) throw new Error(`${url} was refused: ${verdict.reason}`);
  return verdict.url.href;
}

describe('IP parsing', () => {
  it('reads every IPv4 spelling inet_aton accepts', () => {
    const localhost = 0x7f000001;
    for (const text of [
      '127.0.0.1',
      '2130706433',
      '0x7f000001',
      '0x7f.1',
      '0177.0.0.01',
      '127.1',
      '127.0.1',
      '0x7F.0.0.1',
      '127.0.0.1.',
    ])
      expect(parseIPv4(text), text).toBe(localhost);
    expect(parseIPv4('0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    for (const text of [
      '256.0.0.1',
      '1.2.3.4.5',
      '4294967296',
      '1.2.65536',
      '08.1.1.1',
      'a.b.c.d',
      '',
      '1..2',
      '-1.2.3.4',
    ])
      expect(parseIPv4(text), text).toBeUndefined();
  });

  it('reads IPv6 with compression, brackets, zone ids and a dotted tail', () => {
    expect(parseIPv6('::1')).toBe(1n);
    expect(parseIPv6('[::1]')).toBe(1n);
    expect(parseIPv6('::')).toBe(0n);
    expect(parseIPv6('0:0:0:0:0:0:0:1')).toBe(1n);
    expect(parseIPv6('::ffff:127.0.0.1')).toBe(0xffff7f000001n);
    expect(parseIPv6('::ffff:7f00:1')).toBe(0xffff7f000001n);
    expect(parseIPv6('fe80::1%eth0')).toBe((0xfe80n << 112n) | 1n);
    expect(parseIPv6('2001:db8::8:800:200c:417a')).toBe(0x20010db8000000000008_0800_200c_417an);
    for (const text of [
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7',
      '::1.2.3',
      '127.0.0.1',
      'example.com',
    ])
      expect(parseIPv6(text), text).toBeUndefined();
  });

  it('tells names from addresses', () => {
    expect(parseIp('example.com')).toBeUndefined();
    expect(parseIp('1.2.3.4')).toEqual({ version: 4, value: 0x01020304 });
    expect(parseIp('[2606:4700::1111]')?.version).toBe(6);
  });
});

describe('special ranges', () => {
  const cases: [string, string | undefined][] = [
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.0', undefined],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['172.15.255.255', undefined],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', undefined],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['1.1.1.1', undefined],
    ['8.8.8.8', undefined],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', undefined],
    ['::127.0.0.1', 'ipv4-in-ipv6'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'ipv4-in-ipv6'],
    ['fd00:ec2::254', 'metadata'],
    ['fd12:3456::1', 'private'],
    ['fc00::1', 'private'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['2002:7f00:1::', 'ipv4-in-ipv6'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['2606:4700:4700::1111', undefined],
    ['2a00:1450:4001::200e', undefined],
  ];
  it.each(cases)('%s → %s', (address, range) => {
    const ip = parseIp(address);
    expect(ip).toBeDefined();
    if (ip) expect(specialRange(ip)).toBe(range);
  });

  it('refusedAddress names the range; the test switch opens loopback only', () => {
    expect(refusedAddress('169.254.169.254', STRICT_URL_POLICY)).toMatch(/metadata/);
    expect(refusedAddress('127.0.0.1', STRICT_URL_POLICY)).toMatch(/loopback/);
    expect(refusedAddress('127.0.0.1', TEST_LOOPBACK)).toBeUndefined();
    expect(refusedAddress('::1', TEST_LOOPBACK)).toBeUndefined();
    expect(refusedAddress('10.0.0.1', TEST_LOOPBACK)).toMatch(/private/);
    expect(refusedAddress('169.254.169.254', TEST_LOOPBACK)).toMatch(/metadata/);
    expect(refusedAddress('93.184.215.14', STRICT_URL_POLICY)).toBeUndefined();
    expect(refusedAddress('not-an-ip', STRICT_URL_POLICY)).toMatch(/not an IP/);
  });
});

describe('checkUrl', () => {
  it('accepts a plain https URL and drops its fragment', () => {
    expect(accepted('https://images.example.com/cat.jpg?size=large#top')).toBe(
      'https://images.example.com/cat.jpg?size=large',
    );
    expect(accepted('https://8.8.8.8/a.png')).toBe('https://8.8.8.8/a.png');
    expect(accepted('https://[2606:4700:4700::1111]/a.png')).toBe('https://[2606:4700:4700::1111]/a.png');
    expect(accepted('HTTPS://Example.COM./x')).toBe('https://example.com./x');
    expect(accepted('https://example.com:443/x')).toBe('https://example.com/x');
  });

  it('refuses other schemes, credentials and non-URLs', () => {
    expect(refusal('http://example.com/a.jpg')).toMatch(/only https/);
    expect(refusal('ftp://example.com/a.jpg')).toMatch(/only https/);
    expect(refusal('file:///etc/passwd')).toMatch(/only https/);
    expect(refusal('data:image/png;base64,AAAA')).toMatch(/only https/);
    expect(refusal('javascript:alert(1)')).toMatch(/only https/);
    expect(refusal('https://user:pw@example.com/a.jpg')).toMatch(/credentials/);
    expect(refusal('https://user@example.com/a.jpg')).toMatch(/credentials/);
    expect(refusal('https://:pw@example.com/a.jpg')).toMatch(/credentials/);
    expect(refusal('/relative/a.jpg')).toMatch(/absolute/);
    expect(refusal('not a url')).toMatch(/absolute/);
  });

  it('refuses literal IPs in every refused range, however they are spelled', () => {
    const urls: [string, RegExp][] = [
      ['https://169.254.169.254/latest/meta-data/', /metadata/],
      ['https://[fd00:ec2::254]/latest/meta-data/', /metadata/],
      ['https://127.0.0.1/', /loopback/],
      ['https://127.1/', /loopback/],
      ['https://2130706433/', /loopback/],
      ['https://0x7f000001/', /loopback/],
      ['https://0177.0.0.1/', /loopback/],
      ['https://0x7f.0.0.1/', /loopback/],
      ['https://0x7f.0x0.0x0.0x1/', /loopback/],
      ['https://127.0.0.1./', /loopback/],
      ['https://127%2e0%2e0%2e1/', /loopback/],
      ['https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/', /loopback/],
      ['https://127.0.0.1:443/', /loopback/],
      ['https://[::127.0.0.1]/', /carries an IPv4/],
      ['https://[::1]/', /loopback/],
      ['https://[0:0:0:0:0:0:0:1]/', /loopback/],
      ['https://[::ffff:127.0.0.1]/', /loopback/],
      ['https://[::ffff:7f00:1]/', /loopback/],
      ['https://[::ffff:a9fe:a9fe]/', /metadata/],
      ['https://0.0.0.0/', /unspecified/],
      ['https://0/', /unspecified/],
      ['https://[::]/', /unspecified/],
      ['https://10.0.0.1/', /private/],
      ['https://172.16.5.4/', /private/],
      ['https://192.168.0.1/', /private/],
      ['https://100.64.1.1/', /carrier-grade/],
      ['https://169.254.0.1/', /link-local/],
      ['https://[fe80::1]/', /link-local/],
      ['https://[fc00::1]/', /private/],
      ['https://224.0.0.251/', /multicast/],
      ['https://[ff02::1]/', /multicast/],
      ['https://240.0.0.1/', /reserved/],
      ['https://255.255.255.255/', /reserved/],
      ['https://192.0.2.1/', /documentation/],
    ];
    for (const [url, reason] of urls) expect(refusal(url), url).toMatch(reason);
  });

  it('refuses localhost-like and internal names', () => {
    for (const url of [
      'https://localhost/',
      'https://LOCALHOST./',
      'https://localhost%2e/',
      'https://foo.localhost/',
      'https://printer.local/',
      'https://metadata.google.internal/computeMetadata/v1/',
      'https://router.home.arpa/',
      'https://1.0.0.127.in-addr.arpa/',
      'https://intranet/',
      'https://metadata/',
      'https://nas.lan/',
    ])
      expect(refusal(url), url).toMatch(/local or internal/);
  });

  it('refuses non-default ports unless allowed', () => {
    expect(refusal('https://example.com:8443/a.jpg')).toMatch(/port 8443/);
    expect(refusal('https://example.com:80/a.jpg')).toMatch(/port 80/);
    expect(accepted('https://example.com:8443/a.jpg', { ...STRICT_URL_POLICY, allowPorts: [8443] })).toBe(
      'https://example.com:8443/a.jpg',
    );
  });

  it('applies allow and deny lists: deny wins, an allow list admits only its hosts', () => {
    const { patterns: allow } = parseHostPatterns('cdn.example.com, *.images.example.org');
    const { patterns: deny } = parseHostPatterns('bad.images.example.org');
    const policy = { ...STRICT_URL_POLICY, allowHosts: allow, denyHosts: deny };
    expect(accepted('https://cdn.example.com/a.jpg', policy)).toBeTruthy();
    expect(accepted('https://a.b.images.example.org/a.jpg', policy)).toBeTruthy();
    expect(refusal('https://images.example.org/a.jpg', policy)).toMatch(/not on the allow list/);
    expect(refusal('https://other.example.com/a.jpg', policy)).toMatch(/not on the allow list/);
    expect(refusal('https://bad.images.example.org/a.jpg', policy)).toMatch(/deny list/);
    expect(refusal('https://8.8.8.8/a.jpg', policy)).toMatch(/not on the allow list/);
    const denyOnly = { ...STRICT_URL_POLICY, denyHosts: parseHostPatterns('*.example.net').patterns };
    expect(refusal('https://x.example.net/a.jpg', denyOnly)).toMatch(/deny list/);
    expect(accepted('https://example.net/a.jpg', denyOnly)).toBeTruthy();
    expect(accepted('https://elsewhere.com/a.jpg', denyOnly)).toBeTruthy();
  });

  it('an allow list cannot reopen a refused range or name', () => {
    const allow = parseHostPatterns('localhost, metadata.google.internal').patterns;
    const policy = { ...STRICT_URL_POLICY, allowHosts: allow };
    expect(refusal('https://localhost/', policy)).toMatch(/local or internal/);
    expect(refusal('https://metadata.google.internal/', policy)).toMatch(/local or internal/);
  });

  it('the test-only switch opens http: and any port on loopback, nothing else', () => {
    expect(accepted('http://127.0.0.1:8123/a.jpg', TEST_LOOPBACK)).toBe('http://127.0.0.1:8123/a.jpg');
    expect(accepted('http://[::1]:8123/a.jpg', TEST_LOOPBACK)).toBeTruthy();
    expect(accepted('http://localhost:8123/a.jpg', TEST_LOOPBACK)).toBeTruthy();
    expect(accepted('https://127.0.0.1:8443/a.jpg', TEST_LOOPBACK)).toBeTruthy();
    expect(refusal('http://example.com/a.jpg', TEST_LOOPBACK)).toMatch(/only https/);
    expect(refusal('https://example.com:8443/a.jpg', TEST_LOOPBACK)).toMatch(/port/);
    expect(refusal('http://169.254.169.254/', TEST_LOOPBACK)).toMatch(/metadata/);
    expect(refusal('http://10.0.0.1:8080/', TEST_LOOPBACK)).toMatch(/private/);
    expect(refusal('https://printer.local/', TEST_LOOPBACK)).toMatch(/local or internal/);
    expect(refusal('http://user:pw@127.0.0.1:8123/', TEST_LOOPBACK)).toMatch(/credentials/);
    expect(refusal('ftp://127.0.0.1/', TEST_LOOPBACK)).toMatch(/only https/);
  });
});

describe('host patterns', () => {
  it('parses exact names and *.suffix patterns; reports bad entries by position', () => {
    expect(parseHostPatterns(' a.example.com , *.Example.ORG., ,')).toEqual({
      patterns: [{ exact: 'a.example.com' }, { suffix: '.example.org' }],
      bad: [],
    });
    expect(parseHostPatterns('ok.com, *, a..b, -x.com, http://x.com, *.*.com, x_y.com').bad).toEqual([
      2, 3, 4, 5, 6, 7,
    ]);
  });

  it('matches case-insensitively, ignoring a trailing dot; *.x does not match x', () => {
    const { patterns } = parseHostPatterns('example.com, *.cdn.net');
    expect(matchesHost('EXAMPLE.com.', patterns)).toBe(true);
    expect(matchesHost('www.example.com', patterns)).toBe(false);
    expect(matchesHost('a.cdn.net', patterns)).toBe(true);
    expect(matchesHost('cdn.net', patterns)).toBe(false);
    expect(matchesHost('evilcdn.net', patterns)).toBe(false);
  });

  it('knows local names', () => {
    expect(isLocalName('example.com')).toBe(false);
    expect(isLocalName('localhost')).toBe(true);
    expect(isLocalName('box')).toBe(true);
  });
});

it('describeUrl drops credentials and the query, and shortens', () => {
  expect(describeUrl('https://u:p@example.com/a.jpg?token=secret')).toBe('https://example.com/a.jpg');
  expect(describeUrl(`https://example.com/${'a'.repeat(300)}`)).toHaveLength(120);
  expect(describeUrl('nonsense')).toBe('nonsense');
});
