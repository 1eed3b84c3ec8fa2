import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn the CLI; forks keep each file's processes and temp homes apart.
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
