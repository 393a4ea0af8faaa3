import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    environment: 'node',
    pool: 'forks',
    // The machine has two cores; suites that boot workerd or build graphs are heavy.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // In-process tests that restore what they change: one fork runs many files, instead of paying a
          // process start and the module imports for each (a third of this project's CPU time).
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'runtime',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
        },
      },
    ],
  },
});
