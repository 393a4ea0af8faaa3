// Downloads pretrained safetensors from the Hugging Face hub into a local cache: resumable (.part file and
// HTTP Range), verified (the hub's LFS sha256 or a caller-supplied digest) and renamed into place only when
// complete, so the cache never holds a truncated or corrupt checkpoint under its final name.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FetchError, type HttpErrorContext, httpError, offlineError } from './fetch-errors.ts';
import { type ProgressCallback, stderrProgress } from './fetch-progress.ts';

export { FetchError, type FetchErrorCode } from './fetch-errors.ts';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_FILE = 'model.safetensors';
/** Environment variable that moves the cache (default: <project>/models/.cache). */
export const CACHE_DIR_ENV = 'MODELS_CACHE_DIR';

export interface FetchPretrainedOptions {
  /** File inside the repository; default model.safetensors. */
  file?: string;
  cacheDir?: string;
  /** Hub base URL; default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Hex sha256 to verify instead of the digest the hub announces. */
  expectedSha256?: string;
  /** Replaces the default stderr progress bar. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** Branch, tag or commit; default main. */
  revision?: string;
  /** Bearer token sent to the hub host only; default $HF_TOKEN. */
  token?: string;
  /** Further attempts after a transfer breaks off; each resumes from the partial file. Default 3. */
  retries?: number;
  /** An attempt that receives no byte for this long counts as broken off. Default 60 s. */
  stallTimeoutMs?: number;
}

const REPO_PATTERN = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

export function defaultCacheDir(): string {
  const fromEnv = process.env[CACHE_DIR_ENV];
  if (fromEnv) return resolve(fromEnv);
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../models/.cache');
}

/** Where fetchPretrained keeps (or would keep) a file. */
export function cachedPath(
  repo: string,
  file = DEFAULT_FILE,
  cacheDir = defaultCacheDir(),
  revision = 'main',
) {
  return join(cacheDir, ...repo.split('/'), revision, ...file.split('/'));
}

/** Downloads `<endpoint>/<repo>/resolve/<revision>/<file>` into the cache and returns its local path. */
export async function fetchPretrained(repo: string, opts: FetchPretrainedOptions = {}): Promise<string> {
  const file = opts.file ?? DEFAULT_FILE;
  const revision = opts.revision ?? 'main';
  if (!REPO_PATTERN.test(repo)) {
    throw new FetchError('invalid', `invalid repository "${repo}": expected <owner>/<name>`);
  }
  if (file.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new FetchError('invalid', `invalid file name "${file}"`);
  }
  const expected = opts.expectedSha256?.toLowerCase();
  if (expected !== undefined && !SHA256_PATTERN.test(expected)) {
    throw new FetchError('invalid', `expected sha256 must be 64 hex digits, got "${opts.expectedSha256}"`);
  }
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const target = cachedPath(repo, file, opts.cacheDir ?? defaultCacheDir(), revision);
  const part = `${target}.part`;

  if (await isFile(target)) {
    // A cached file was verified when it was written; re-check only against a digest the caller insists on.
    if (expected === undefined || (await sha256File(target)) === expected) return target;
    await rm(target, { force: true });
  }

  const url = new URL(
    `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`,
  );
  const bar = opts.onProgress ? undefined : stderrProgress(`${repo}/${file}`);
  const session: Session = {
    ctx: { repo, file, revision, endpoint },
    hubOrigin: new URL(endpoint).origin,
    token: opts.token ?? process.env.HF_TOKEN,
    onProgress: opts.onProgress ?? bar?.onProgress,
    signal: opts.signal,
    stallTimeoutMs: opts.stallTimeoutMs ?? 60_000,
  };

  let retriesLeft = opts.retries ?? 3;
  let restartedFresh = false;
  try {
    for (;;) {
      let result: Attempt;
      try {
        result = await downloadOnce(url, part, session);
      } catch (error) {
        if (error instanceof FetchError && error.code === 'interrupted' && retriesLeft > 0) {
          retriesLeft -= 1;
          continue;
        }
        throw error;
      }
      const want = expected ?? result.hubSha256;
      if (want === undefined) {
        process.stderr.write(`warning: ${url.host} announced no sha256 for ${repo}/${file}; not verified\n`);
      } else {
        const actual = await sha256File(part);
        if (actual !== want) {
          await rm(part, { force: true });
          // A resumed file may mix two versions of a re-uploaded checkpoint: one fresh download settles it.
          if (result.resumed && !restartedFresh) {
            restartedFresh = true;
            continue;
          }
          throw new FetchError(
            'checksum',
            `checksum mismatch for ${repo}/${file}: expected sha256 ${want}, got ${actual}; the download was deleted`,
          );
        }
      }
      if (file.endsWith('.safetensors')) await assertSafetensors(part, `${repo}/${file}`);
      await rename(part, target);
      return target;
    }
  } finally {
    bar?.finish();
  }
}

interface Session {
  ctx: HttpErrorContext;
  hubOrigin: string;
  token: string | undefined;
  onProgress: ProgressCallback | undefined;
  signal: AbortSignal | undefined;
  stallTimeoutMs: number;
}

interface Attempt {
  hubSha256: string | undefined;
  resumed: boolean;
}

async function downloadOnce(url: URL, part: string, session: Session): Promise<Attempt> {
  const have = await sizeOf(part);
  const stall = new AbortController();
  const signal = session.signal ? AbortSignal.any([session.signal, stall.signal]) : stall.signal;
  let timer: NodeJS.Timeout | undefined;
  const armStallTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), session.stallTimeoutMs);
  };
  armStallTimer();
  try {
    const { response, finalUrl, hubSha256, linkedSize } = await request(url, have, signal, session);
    let append = false;
    let total: number | undefined;
    if (response.status === 206 && have > 0) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range?.start !== have) {
        // The server resumed from somewhere else: start over rather than splice mismatched bytes.
        await response.body?.cancel();
        await rm(part, { force: true });
        return await downloadOnce(url, part, session);
      }
      append = true;
      total = range.total ?? linkedSize;
    } else if (response.status === 416 && have > 0) {
      // The partial file is no prefix of the remote one (it is as long or longer): start over.
      await response.body?.cancel();
      await rm(part, { force: true });
      return await downloadOnce(url, part, session);
    } else if (response.status === 200) {
      const length = Number(response.headers.get('content-length') ?? Number.NaN);
      total = Number.isFinite(length) ? length : linkedSize;
    } else {
      await response.body?.cancel();
      throw httpError(response, finalUrl, session.ctx);
    }

    let done = append ? have : 0;
    // Created only now, so a failed request leaves no empty folders in the cache.
    await mkdir(dirname(part), { recursive: true });
    const handle = await open(part, append ? 'a' : 'w');
    try {
      session.onProgress?.(done, total);
      const reader = response.body?.getReader();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        armStallTimer();
        await handle.write(chunk.value);
        done += chunk.value.byteLength;
        session.onProgress?.(done, total);
      }
    } catch (error) {
      throw brokenOff(error, session, stall.signal, done, part);
    } finally {
      await handle.close();
    }
    if (total !== undefined && done !== total) {
      throw brokenOff(new Error(`got ${done} of ${total} bytes`), session, stall.signal, done, part);
    }
    return { hubSha256, resumed: append };
  } finally {
    clearTimeout(timer);
  }
}

interface Resolved {
  response: Response;
  finalUrl: URL;
  hubSha256: string | undefined;
  linkedSize: number | undefined;
}

/** GET with redirects followed by hand: the hub's digest and size sit on the redirect, not on the CDN reply. */
async function request(url: URL, have: number, signal: AbortSignal, session: Session): Promise<Resolved> {
  let current = url;
  let hubSha256: string | undefined;
  let linkedSize: number | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'edge-escalate-classifier-models' };
    if (have > 0) headers.range = `bytes=${have}-`;
    if (session.token && current.origin === session.hubOrigin)
      headers.authorization = `Bearer ${session.token}`;
    let response: Response;
    try {
      response = await fetch(current, { headers, redirect: 'manual', signal });
    } catch (error) {
      if (session.signal?.aborted) throw new FetchError('aborted', 'download aborted', { cause: error });
      if (signal.aborted) {
        throw new FetchError('interrupted', `no response from ${current.host} within the stall timeout`, {
          cause: error,
        });
      }
      throw offlineError(current.host, error);
    }
    hubSha256 ??= sha256FromHeaders(response.headers);
    const size = Number(response.headers.get('x-linked-size') ?? Number.NaN);
    if (linkedSize === undefined && Number.isSafeInteger(size)) linkedSize = size;
    if (!REDIRECTS.has(response.status)) return { response, finalUrl: current, hubSha256, linkedSize };
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw httpError(response, current, session.ctx);
    current = new URL(location, current);
  }
  throw new FetchError('http', `more than ${MAX_REDIRECTS} redirects fetching ${url.href}`);
}

function brokenOff(error: unknown, session: Session, stall: AbortSignal, done: number, part: string) {
  if (session.signal?.aborted) {
    return new FetchError('aborted', `download aborted after ${done} bytes; partial file kept at ${part}`, {
      cause: error,
    });
  }
  const reason = stall.aborted
    ? `no data for ${session.stallTimeoutMs / 1000} s`
    : error instanceof Error
      ? (error.cause instanceof Error ? error.cause.message : error.message) || 'connection closed'
      : String(error);
  return new FetchError(
    'interrupted',
    `download of ${session.ctx.repo}/${session.ctx.file} broke off after ${done} bytes (${reason}); ` +
      'run again to resume',
    { cause: error },
  );
}

/** The hub sends the LFS object's sha256 as X-Linked-Etag on the redirect (ETag on a direct LFS reply). */
export function sha256FromHeaders(headers: Headers): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const match = /^(?:W\/)?"?([0-9a-fA-F]{64})"?$/.exec(headers.get(name)?.trim() ?? '');
    if (match?.[1]) return match[1].toLowerCase();
  }
  return undefined;
}

function parseContentRange(value: string | null): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!match?.[1] || !match[3]) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

/** Rejects an HTML error page or other non-checkpoint served with status 200 when no digest was announced. */
async function assertSafetensors(path: string, label: string): Promise<void> {
  const size = await sizeOf(path);
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(9);
    await handle.read(head, 0, 9, 0);
    const headerLength = size >= 9 ? head.readBigUInt64LE(0) : -1n;
    if (headerLength < 2n || headerLength > BigInt(size - 8) || head[8] !== 0x7b) {
      await rm(path, { force: true });
      throw new FetchError('invalid', `${label} is not a safetensors file; the download was deleted`);
    }
  } finally {
    await handle.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
