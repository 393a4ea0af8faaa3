// The image URL settings both services read (IMAGE_URL_ALLOW_HOSTS, IMAGE_URL_DENY_HOSTS,
// IMAGE_URL_ALLOW_PORTS), as zod schemas over the raw text, so the edge and the origin parse them alike.
import { z } from 'zod';
import { type HostPattern, parseHostPatterns } from './hosts.ts';

/** "example.com, *.cdn.example.net": a bad entry fails the setting (named by position, never ignored). */
export const hostPatternList = z.string().transform((text, ctx): HostPattern[] => {
  const { patterns, bad } = parseHostPatterns(text);
  for (const position of bad)
    ctx.addIssue({
      code: 'custom',
      message: `entry ${position} is not a host name or a *.suffix pattern`,
    });
  return patterns;
});

/** "8443, 8080": ports other than 443 that image URLs may name. */
export const portList = z.string().transform((text, ctx): number[] => {
  const ports: number[] = [];
  text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .forEach((entry, i) => {
      const port = /^\d{1,5}$/.test(entry) ? Number(entry) : Number.NaN;
      if (port >= 1 && port <= 65535) ports.push(port);
      else ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not a port (1-65535)` });
    });
  return ports;
});

/** Default time for one image URL fetch, redirects and body included. */
export const DEFAULT_IMAGE_URL_TIMEOUT_MS = 5000;
/** Redirects followed, each target checked again. */
export const MAX_IMAGE_URL_REDIRECTS = 3;
