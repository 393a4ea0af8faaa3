import { defineConfig } from 'vitest/config';
import LongestFirst from './test/support/longest-first.ts';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    environment: 'node',
    pool: 'forks',
    // The machine has two cores; suites that boot workerd or build graphs are heavy.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Both projects share the two workers; the longest files start first (test/support/longest-first.ts).
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          // In-process tests (origins run as servers in the test's own process) that close and restore
          // what they open and change: one fork runs many files instead of paying a process start and
          // the module imports for each (a quarter to a third of these files' CPU time). A file that
          // needs fresh module state belongs in the other project.
          name: 'in-process',
          include: ['test/unit/**/*.test.ts', 'test/origin/**/*.test.ts'],
          isolate: false,
          setupFiles: ['test/support/ort-log-level.ts'],
        },
      },
      {
        extends: true,
        test: {
          // workerd, end-to-end stacks and the fuzzer: each file in its own process.
          name: 'runtime',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', 'test/origin/**'],
        },
      },
    ],
  },
});
