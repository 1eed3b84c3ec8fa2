import { expect } from 'vitest';
import { collect, contract, failure, initAlice, signIn, type Case } from './harness.js';

// `admin users import` and `export` (issue #19 §4): one batch through either back end, the same answer.

const WHY = { reason: 'directory migration' };
const ROWS = [
  { line: 2, username: 'uma', email: 'uma@example.com' },
  { line: 3, username: 'Bad Name', email: 'bad@example.com' },
  { line: 4, username: 'sam', email: 'sam@example.com', role: 'support' },
];

const cases: Record<string, Case> = {
  'import: a dry run judges the rows and writes nothing; an invalid row refuses the batch; skipped, the rest are created once; export lists them':
    async (world, rec) => {
      const { me: alice } = await initAlice(world);
      const dry = rec(await alice.adminImportUsers({ ...WHY, dryRun: true, rows: ROWS }));
      expect(dry).toMatchObject({ dryRun: true, created: 2, existing: [], invalid: [{ line: 3, value: 'Bad Name' }] });
      const refused = rec(await failure(alice.adminImportUsers({ ...WHY, rows: ROWS, returnTokens: true })));
      expect(refused).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
      expect(refused.message).toContain('line 3');
      expect((await collect(alice.adminListUsers())).map((u) => u.username)).toEqual(['alice']);
      const done = await alice.adminImportUsers({ ...WHY, rows: ROWS, returnTokens: true, skipInvalid: true });
      expect(done).toMatchObject({ dryRun: false, created: 2, existing: [] });
      expect(done.tokens!.map((t) => t.username)).toEqual(['uma', 'sam']);
      for (const t of done.tokens!) expect(t.token).toMatch(/^acs_rst_/);
      const again = rec(await alice.adminImportUsers({ ...WHY, rows: ROWS, returnTokens: true, skipInvalid: true }));
      expect(again).toMatchObject({ created: 0, existing: ['uma', 'sam'], tokens: [] });
      const exported = rec(await collect(alice.adminExportUsers()));
      expect(exported.map((u) => [u.username, u.role, u.mfa])).toEqual([
        ['alice', 'admin', []],
        ['sam', 'support', []],
        ['uma', 'user', []],
      ]);
      expect(JSON.stringify(exported)).not.toMatch(/argon2|acs_rst_|password/);
      // A plain user may neither import nor export.
      await world.anonymous().recoverWithToken({
        username: 'uma',
        token: done.tokens![0]!.token,
        newPassword: 'user account passphrase',
      });
      const uma = await signIn(world, 'uma', 'user account passphrase');
      expect(rec(await failure(uma.adminImportUsers({ ...WHY, rows: [] })))).toMatchObject({ exitCode: 7 });
      expect(rec(await failure(uma.adminExportUsers()))).toMatchObject({ exitCode: 7 });
    },
};

contract(import.meta.url, cases);
