import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that boot whole stacks and run longest, in the order they should start on a fresh clone (no
 * durations recorded yet): started late, any of them would run alone at the end while the other worker
 * idles.
 */
const SLOWEST = [
  // Also the batch route, on the origin it restarts.
  'test/e2e/stack.test.ts',
  // Also the result cache and a second Worker with the pre-optimised models.
  'test/workerd/classify.test.ts',
  // Also the playground's batch upload, in the same browser.
  'test/e2e/page-and-cli.test.ts',
  'test/workerd/decode.test.ts',
  'test/workerd/fuzz.test.ts',
  // Also image_url against a local server, and a second Worker with misdeployed models.
  'test/workerd/errors.test.ts',
];
/** Unknown files: one that boots workerd or a stack (isolated) costs seconds, an in-process one less. */
const GUESS_ISOLATED_MS = 10_000;
const GUESS_IN_PROCESS_MS = 1_000;

/**
 * Longest first across both projects (vitest's own order runs one project's files after the other's):
 * the last recorded duration of each file, else a guess. Failed files still go first.
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const cost = (spec: TestSpecification) => {
      const file = relative(root, spec.moduleId);
      const recorded = this.ctx.cache.getFileTestResults(`${spec.project.name}:${file}`);
      const slow = SLOWEST.indexOf(file);
      const guess = spec.project.config.isolate ? GUESS_ISOLATED_MS : GUESS_IN_PROCESS_MS;
      return {
        failed: recorded?.failed === true,
        ms: recorded?.duration ?? (slow >= 0 ? Number.MAX_SAFE_INTEGER - slow : guess),
      };
    };
    const costs = new Map(files.map((spec) => [spec, cost(spec)]));
    return [...files].sort((a, b) => {
      const [ca, cb] = [costs.get(a), costs.get(b)];
      if (!ca || !cb) return 0;
      if (ca.failed !== cb.failed) return ca.failed ? -1 : 1;
      return cb.ms - ca.ms;
    });
  }
}
