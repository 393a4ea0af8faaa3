// File output with nothing partial left behind: everything is written to a temporary sibling directory
// and renamed into place only once complete.

import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface WrittenFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export async function writeChunks(path: string, chunks: readonly Uint8Array[]): Promise<WrittenFile> {
  const hash = createHash('sha256');
  const handle = await open(path, 'wx');
  let bytes = 0;
  try {
    for (const chunk of chunks) {
      await handle.write(chunk);
      hash.update(chunk);
      bytes += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { name: path.split('/').pop() ?? path, bytes, sha256: hash.digest('hex') };
}

/** Runs `fill(tmpDir)` then atomically replaces `finalDir` with it; on failure removes the temp dir. */
export async function writeDirectoryAtomically<T>(
  finalDir: string,
  fill: (tmpDir: string) => Promise<T>,
): Promise<T> {
  const parent = dirname(finalDir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${finalDir.split('/').pop()}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp);
  try {
    const result = await fill(tmp);
    const old = `${tmp}.old`;
    const existed = await stat(finalDir).then(
      () => true,
      () => false,
    );
    if (existed) await rename(finalDir, old);
    await rename(tmp, finalDir);
    if (existed) await rm(old, { recursive: true, force: true });
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
