import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn the CLI; forks keep each file's processes and temp homes apart.
    pool: 'forks',
    // Vitest's default on a 2-core machine is one worker, which ran the files one after another (12.7
    // minutes). End-to-end files spend most of their time waiting for the CLI processes they start, so
    // three workers keep both cores busy: 7.8 minutes, the timing tests included (their thresholds
    // adapt to the run's own noise).
    maxWorkers: 3,
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'local', include: ['test/**/*.test.ts'] } },
      // The same end-to-end suite against `acctsec serve` (SPEC §10): one contract for both back ends.
      { extends: true, test: { name: 'remote', include: ['test/e2e/**/*.test.ts'], env: { ACCTSEC_E2E_MODE: 'remote' } } },
    ],
  },
});
