import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { adminUsersImportRun, csvField, type ImportSummary } from '../../../src/cli/commands/admin-bulk.js';
import { Unavailable } from '../../../src/errors.js';
import { createFakeFactory, initAlice, rejection, type FakeFactory } from './fake-factory.js';

// `admin users import` (issue #19 §4): what the operator is told when a batch fails, and the resume.

function csv(f: FakeFactory, n: number): string {
  const path = join(f.dir, 'staff.csv');
  writeFileSync(
    path,
    ['username,email', ...Array.from({ length: n }, (_, i) => `user${i},user${i}@example.com`), ''].join('\n'),
  );
  return path;
}

/** The real back end, whose `failOn`-th writing import call fails as a server gone away would. */
function failingOn(f: FakeFactory, failOn: number): void {
  const real = f.backend.bind(f);
  let writes = 0;
  f.backend = async () => {
    const b = await real();
    return {
      ...b,
      adminImportUsers: (input) => {
        if (!input.dryRun && ++writes === failOn)
          return Promise.reject(new Unavailable('cannot reach the acctsec server (ECONNRESET)', 'remote_unreachable'));
        return b.adminImportUsers(input);
      },
    } satisfies Backend;
  };
}

async function count(f: FakeFactory): Promise<number> {
  let n = 0;
  for await (const _ of (await f.backend()).adminListUsers()) n++;
  return n;
}

describe('admin users import', () => {
  it('a batch that fails leaves the batches before it imported and names the line to resume from; --from-line finishes the job', async () => {
    const f = createFakeFactory({ yes: true, json: true });
    await initAlice(f);
    const file = csv(f, 2500);
    failingOn(f, 2);
    const err = await rejection(
      adminUsersImportRun({ f, file, reason: 'directory migration', tokensTo: join(f.dir, 'tokens-1.csv') }),
    );
    expect(err).toBeInstanceOf(Unavailable);
    // Rows are numbered from line 2 (line 1 is the header); the first batch (up to 1,000 rows, 56 KiB) stands.
    expect(f.io.warnings).toHaveLength(1);
    const m =
      /^the import stopped at line (\d+) of staff\.csv: every row before it is imported \((\d+) accounts created\), nothing from line \1 on\. Resume with --from-line \1 and a new --tokens-to file/.exec(
        f.io.warnings[0]!,
      );
    expect(m, f.io.warnings[0]).not.toBeNull();
    const [resumeAt, created] = [Number(m![1]), Number(m![2])];
    expect(created).toBeGreaterThan(500);
    expect(resumeAt).toBe(created + 2);
    expect(readFileSync(join(f.dir, 'tokens-1.csv'), 'utf8').trim().split('\n')).toHaveLength(created);

    const g = createFakeFactory({ yes: true, json: true, shareWith: f });
    await adminUsersImportRun({
      f: g,
      file,
      reason: 'directory migration',
      tokensTo: join(f.dir, 'tokens-2.csv'),
      fromLine: resumeAt,
    });
    expect(g.io.document<ImportSummary>()).toMatchObject({
      created: 2500 - created,
      existing: 0,
      fromLine: resumeAt,
    });
    expect(await count(g)).toBe(2501);
    expect(readFileSync(join(f.dir, 'tokens-2.csv'), 'utf8').split(',')[0]).toBe(`user${created}`);
  });

  it('--yes is needed without a terminal, before anything is read', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const err = await rejection(adminUsersImportRun({ f, file: csv(f, 1), reason: 'directory migration' }));
    expect(err.message).toContain('confirm with --yes');
  });
});

describe('admin users export as CSV (issue #19 §4)', () => {
  it('neutralises values a spreadsheet would run as formulas, and quotes as RFC 4180 says', () => {
    expect(csvField('=HYPERLINK("http://x.example")@example.com')).toBe(
      `"'=HYPERLINK(""http://x.example"")@example.com"`,
    );
    for (const start of ['=', '+', '-', '@', '\t', '\r'])
      expect(csvField(`${start}1+1@example.com`).replace(/^"/, '')).toMatch(/^'/);
    expect(csvField('alice@example.com')).toBe('alice@example.com');
    expect(csvField('a,b')).toBe('"a,b"');
  });
});
