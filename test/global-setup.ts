import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A folder of the run for what the tests share between files, removed when the run ends. */
    runTempRoot: string;
  }
}

/**
 * One folder per project and run for what outlives a test file: the homes `home.init()` copies
 * (test/e2e/helpers.ts) and the service tests' default outbox (test/service/context.ts). Removed by the
 * teardown: an `exit` handler in the workers was not enough, vitest ends its workers without running it
 * (each full run left about five homes, each with a signed-in session, and three outboxes in /tmp).
 */
export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'acctsec-test-run-'));
  project.provide('runTempRoot', root);
  return () => rmSync(root, { recursive: true, force: true });
}
