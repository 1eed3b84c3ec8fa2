import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { BACKEND_METHODS, BACKENDS, COVERAGE_DIR, EXCLUDED_METHODS, readCoverage } from './harness.js';

// The meta test: every method of the Backend interface is called by at least one contract case. The
// other files of the folder record the methods they called (through a Proxy around every back end
// their worlds hand out) and write them when they end; this file waits for all of them. Run the
// whole folder (`npx vitest run test/contract`): alone, this file waits for reports that never come.

const HERE = dirname(fileURLToPath(import.meta.url));
const SIBLINGS = readdirSync(HERE)
  .filter((f) => f.endsWith('.test.ts') && f !== basename(fileURLToPath(import.meta.url)))
  .sort();

it('the method list is the Backend interface (the route table and close)', async () => {
  const world = await BACKENDS[0]!.world();
  try {
    const backend = world.anonymous();
    const methods = Object.keys(backend).filter(
      (k) => typeof (backend as unknown as Record<string, unknown>)[k] === 'function',
    );
    expect(methods.sort()).toEqual([...BACKEND_METHODS]);
  } finally {
    await world.close();
  }
});

it('every Backend method is exercised by a contract case, on both back ends', async () => {
  const deadline = Date.now() + 50_000;
  let reports = readCoverage();
  while (SIBLINGS.some((f) => !reports.has(f)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    reports = readCoverage();
  }
  const missing = SIBLINGS.filter((f) => !reports.has(f));
  expect(missing, `no report from these files: run the whole folder, npx vitest run test/contract`).toEqual([]);
  const called = new Set([...reports.values()].flat());
  for (const backend of BACKENDS.map((b) => b.name)) {
    const uncovered = BACKEND_METHODS.filter((m) => !called.has(`${backend}:${m}`) && !(m in EXCLUDED_METHODS));
    expect(uncovered, `Backend methods no contract case calls on ${backend}`).toEqual([]);
    // An exclusion that is called after all should leave the list.
    expect(Object.keys(EXCLUDED_METHODS).filter((m) => called.has(`${backend}:${m}`))).toEqual([]);
  }
  rmSync(COVERAGE_DIR, { recursive: true, force: true });
}, 60_000);
