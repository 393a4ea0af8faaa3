// Download progress on stderr: one redrawn bar on a terminal, sparse plain lines when piped (CI logs would
// otherwise fill with carriage-return noise).

export type ProgressCallback = (done: number, total?: number) => void;

const MB = 1024 * 1024;

function formatMb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

export interface StderrProgressOptions {
  /** Stream to write to; defaults to process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Override terminal detection (tests). */
  tty?: boolean;
}

/** Returns a progress callback that draws on stderr. Call the returned `finish` once the transfer ends. */
export function stderrProgress(
  label: string,
  options: StderrProgressOptions = {},
): { onProgress: ProgressCallback; finish: () => void } {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const startedAt = Date.now();
  let lastDrawAt = 0;
  let lastTenth = -1;
  let drewBar = false;

  const onProgress: ProgressCallback = (done, total) => {
    const now = Date.now();
    if (tty) {
      if (now - lastDrawAt < 100 && done !== total) return;
      lastDrawAt = now;
      const seconds = Math.max((now - startedAt) / 1000, 0.001);
      const rate = `${formatMb(done / seconds)}/s`;
      if (total) {
        const fraction = Math.min(done / total, 1);
        const width = 30;
        const filled = Math.round(fraction * width);
        const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
        const pct = (fraction * 100).toFixed(0).padStart(3);
        stream.write(`\r${label} [${bar}] ${pct}% ${formatMb(done)} / ${formatMb(total)} ${rate}  `);
      } else {
        stream.write(`\r${label} ${formatMb(done)} ${rate}  `);
      }
      drewBar = true;
      return;
    }
    // Plain output: a line at each tenth of the file (or each 10 MB when the size is unknown).
    const tenth = total ? Math.floor((done / total) * 10) : Math.floor(done / (10 * MB));
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    const where = total ? `${tenth * 10}% (${formatMb(done)} / ${formatMb(total)})` : formatMb(done);
    stream.write(`${label}: ${where}\n`);
  };

  const finish = () => {
    if (drewBar) stream.write('\n');
  };
  return { onProgress, finish };
}
