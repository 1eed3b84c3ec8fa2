import { defineConfig } from 'vitest/config';

// Two layers (CONTRIBUTING.md, "Test layers"):
// - unit: the service layer, the store, the commands' run functions with fake IO, and the Backend
//   contract suite (local and remote, in-process). No child processes; seconds, not minutes.
// - e2e: the built CLI as a user runs it (spawned processes, tmux, shells, a browser, `acctsec serve`),
//   once, in local mode; the files that need a server start their own (`new Home(true)`).
// `ACCTSEC_E2E_MODE=remote npm run test:e2e` still runs the whole e2e suite against servers (not in CI:
// the contract suite checks that both back ends behave alike, in seconds).
export default defineConfig({
  // What scripts/build.js writes into the bundle; the CLI's command tree is built by unit tests too.
  define: { ACCTSEC_VERSION: JSON.stringify('0.0.0-test') },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn the CLI; forks keep each file's processes and temp homes apart.
    pool: 'forks',
    // Vitest's default on a 2-core machine is one worker. End-to-end files spend most of their time
    // waiting for the CLI processes they start, so three workers keep both cores busy.
    maxWorkers: 3,
    reporters: ['default', './test/summary-reporter.ts'],
    // Each project gets a folder for the run (what outlives a test file), removed when the run ends.
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'test/service/**/*.test.ts',
            'test/store/**/*.test.ts',
            'test/cli/unit/**/*.test.ts',
            'test/contract/**/*.test.ts',
          ],
          exclude: ['test/contract/coverage.test.ts'],
          // One module graph per worker, not one per file: loading the service layer again for each of
          // 90 files was half the unit layer's time (64 s -> 30 s, issue #16). The files keep no state
          // between them: each test makes its own database and temp dir, and restores what it stubs.
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/server/**/*.test.ts', 'test/cli/*.test.ts'],
          // One module graph per worker here too (import time was 30 s of the layer's CPU): the files share
          // only test/e2e/helpers.ts's state (the homes `init` made, which Home.init copies).
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      // The contract suite again on PostgreSQL (issue #22), when a cluster is given: ACCTSEC_TEST_DATABASE
      // (.ci/run starts one with scripts/pg-cluster.sh). Each world is a schema of its own on it.
      ...(process.env.ACCTSEC_TEST_DATABASE
        ? [
            {
              extends: true,
              test: {
                name: 'contract-pg',
                include: ['test/contract/**/*.test.ts'],
                exclude: ['test/contract/coverage.test.ts'],
                env: { ACCTSEC_TEST_STORE: 'postgres' },
                isolate: false,
                sequence: { groupOrder: 0 },
              },
            },
          ]
        : []),
      // The contract suite's meta test reads what the contract files recorded: it runs after them.
      {
        extends: true,
        test: { name: 'unit-coverage', include: ['test/contract/coverage.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
