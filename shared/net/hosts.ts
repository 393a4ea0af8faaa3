// Host names: the allow/deny patterns of IMAGE_URL_ALLOW_HOSTS / IMAGE_URL_DENY_HOSTS, and the names that
// only mean something inside a network (localhost, .internal, single labels), refused whatever they
// resolve to.

/** "example.com" matches that host only; "*.example.com" matches its subdomains at any depth, not itself. */
export type HostPattern = { exact: string } | { suffix: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower case, without the trailing dot of a fully qualified name. */
export function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function isHostName(text: string): boolean {
  return text.length <= 253 && text.split('.').every((label) => LABEL.test(label));
}

/**
 * A comma-separated pattern list; blanks between commas are dropped. Returns the patterns or the
 * entries that are not one (so a setting fails with their positions, never silently matching nothing).
 */
export function parseHostPatterns(text: string): { patterns: HostPattern[]; bad: number[] } {
  const patterns: HostPattern[] = [];
  const bad: number[] = [];
  text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .forEach((entry, i) => {
      const host = normalizeHost(entry);
      if (host.startsWith('*.') && isHostName(host.slice(2))) patterns.push({ suffix: host.slice(1) });
      else if (isHostName(host)) patterns.push({ exact: host });
      else bad.push(i + 1);
    });
  return { patterns, bad };
}

export function matchesHost(host: string, patterns: readonly HostPattern[]): boolean {
  const name = normalizeHost(host);
  return patterns.some((p) => ('exact' in p ? name === p.exact : name.endsWith(p.suffix)));
}

// Names for this machine or a private network (RFC 6761, 6762, 8375 and the cloud metadata names).
const LOCAL_NAMES = ['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback'];
const LOCAL_SUFFIXES = ['.localhost', '.local', '.localdomain', '.internal', '.home.arpa', '.arpa', '.lan'];

/** Whether a name is "localhost"-like: for this machine or an internal network only. */
export function isLocalName(host: string): boolean {
  const name = normalizeHost(host);
  if (LOCAL_NAMES.includes(name) || LOCAL_SUFFIXES.some((suffix) => name.endsWith(suffix))) return true;
  // A single label ("metadata", "intranet") resolves through the machine's search domains.
  return !name.includes('.');
}

/** Whether a name is loopback-only ("localhost", "*.localhost"): what the test-only switch opens. */
export function isLoopbackName(host: string): boolean {
  const name = normalizeHost(host);
  return name === 'localhost' || name.endsWith('.localhost');
}
