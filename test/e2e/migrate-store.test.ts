import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditVerification, StoreMigration } from '../../src/views.js';
import { freshSchema, PG_TEST_URL } from '../pg.js';
import { awayFromStepEdge, codeAt } from '../rfc6238.js';
import { Home, json, PASSWORD, REMOTE } from './helpers.js';

// `acctsec admin migrate-store` (issue #22) as a user runs it: a SQLite database made with the CLI is
// copied into a fresh PostgreSQL schema; the copy signs its users in (with their second factor), its
// audit log verifies, and a second run into it is refused and changes nothing. With
// ACCTSEC_TEST_DATABASE only (a cluster: scripts/pg-cluster.sh); local mode only (it never runs remotely).

const drops: (() => void)[] = [];
afterAll(() => {
  for (const drop of drops) drop();
});

describe.runIf(PG_TEST_URL && !REMOTE)('admin migrate-store', () => {
  it('copies a SQLite database into PostgreSQL: users sign in on the copy, counts match, the audit log verifies; a second run is refused', async () => {
    const home = new Home(false);
    try {
      await home.init();
      const db = home.dbPath;
      // Real rows: a second factor and its recovery codes, a token, accounts made by an admin (audited).
      await awayFromStepEdge();
      const begin = json<{ secret: string }>(
        await home.run(['mfa', 'totp', 'enable', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } }),
      );
      const enrolCode = codeAt(begin.secret, 0);
      const confirm = await home.run(['mfa', 'totp', 'confirm', '--code', enrolCode]);
      expect(confirm.exitCode, confirm.stderr).toBe(0);
      const token = await home.run(['token', 'create', '--name', 'ci', '--scope', 'dns:read', '--json'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(token.exitCode, token.stderr).toBe(0);
      for (const user of ['bob', 'carol']) {
        const made = await home.run(
          [
            'admin',
            'users',
            'create',
            user,
            '--email',
            `${user}@example.com`,
            '--print-token',
            '--reason',
            'new hire',
            '--yes',
          ],
          { env: { ACCTSEC_PASSWORD: PASSWORD } },
        );
        expect(made.exitCode, made.stderr).toBe(0);
      }
      const lock = await home.run(['admin', 'lock', 'carol', '--reason', 'left the company', '--yes']);
      expect(lock.exitCode, lock.stderr).toBe(0);
      const source = json<AuditVerification>(await home.run(['admin', 'audit', 'verify', '--json']));
      expect(source.intact).toBe(true);

      const target = freshSchema();
      drops.push(() => target.drop());
      const onCopy = { ACCTSEC_DATABASE_URL: target.url };

      // A password in --to is refused (ps would show it), and never echoed.
      const secret = await home.run([
        'admin',
        'migrate-store',
        '--from',
        `sqlite:${db}`,
        '--to',
        'postgres://acctsec:hunter2@db.example.com/acctsec',
      ]);
      expect(secret.exitCode).toBe(2);
      expect(secret.stderr).toContain('visible to every user');
      expect(secret.stderr).not.toContain('hunter2');

      // --dry-run counts and writes nothing.
      const dry = await home.run(['admin', 'migrate-store', '--from', `sqlite:${db}`, '--dry-run'], { env: onCopy });
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/Dry run: .* would be copied .*nothing was changed/);
      expect(dry.stdout).toMatch(/^accounts\s+3$/m);

      // The copy: --to from ACCTSEC_DATABASE_URL, a human summary.
      const run = await home.run(['admin', 'migrate-store', '--from', `sqlite:${db}`], { env: onCopy });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^accounts\s+3\s+3$/m);
      expect(run.stdout).toMatch(/^audit_log\s+(\d+)\s+\1$/m);
      expect(run.stdout).toContain(`head ${source.head}, the same as the source's`);
      const keyFile = join(home.dir, '.local/share/acctsec/postgres.key');
      expect(run.stdout).toContain(`was copied to ${keyFile}`);
      expect(run.stdout).toContain('`acctsec serve --database` on the copy needs this same key');
      expect(readFileSync(keyFile, 'utf8')).toBe(readFileSync(`${db}.key`, 'utf8'));
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);

      // alice signs in on the copy with her password and her authenticator, as on the file; the code
      // spent at enrolment stays spent there (the replay guard was copied too).
      await awayFromStepEdge();
      const replay = await home.run(['login', '--username', 'alice', '--code', enrolCode], {
        env: { ...onCopy, ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(replay.exitCode).toBe(3);
      const fresh = codeAt(begin.secret, 0) === enrolCode ? codeAt(begin.secret, 1) : codeAt(begin.secret, 0);
      const login = await home.run(['login', '--username', 'alice', '--code', fresh], {
        env: { ...onCopy, ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(login.exitCode, login.stderr).toBe(0);
      const status = await home.run(['status', '--json'], { env: onCopy });
      expect(status.exitCode, status.stderr).toBe(0);
      expect(json<{ username: string }>(status).username).toBe('alice');
      const tokens = json<{ name: string }[]>(await home.run(['token', 'list', '--json'], { env: onCopy }));
      expect(tokens.map((t) => t.name)).toEqual(['ci']);
      const users = await home.run(['admin', 'users', 'list'], { env: onCopy });
      expect(users.stdout).toMatch(/^carol\s+user\s+yes/m);
      const copied = json<AuditVerification>(await home.run(['admin', 'audit', 'verify', '--json'], { env: onCopy }));
      expect(copied).toMatchObject({ intact: true, rows: source.rows, head: source.head });

      // A second run into the same database: refused (exit 5), nothing changed.
      const again = await home.run(['--json', 'admin', 'migrate-store', '--from', `sqlite:${db}`], { env: onCopy });
      expect(again.exitCode).toBe(5);
      expect(JSON.parse(again.stderr)).toMatchObject({ error: { code: 'target_not_empty' } });
      expect(again.stdout).toBe('');
      const after = json<AuditVerification>(await home.run(['admin', 'audit', 'verify', '--json'], { env: onCopy }));
      expect(after).toEqual(copied);
      expect((await home.run(['admin', 'users', 'list'], { env: onCopy })).stdout).toBe(users.stdout);

      // The copy takes new rows past the copied ids (its sequences were moved on).
      const dave = await home.run(
        [
          'admin',
          'users',
          'create',
          'dave',
          '--email',
          'dave@example.com',
          '--print-token',
          '--reason',
          'new hire',
          '--yes',
        ],
        { env: onCopy },
      );
      expect(dave.exitCode, dave.stderr).toBe(0);
      const grown = json<AuditVerification>(await home.run(['admin', 'audit', 'verify', '--json'], { env: onCopy }));
      expect(grown).toMatchObject({ intact: true, rows: source.rows + 1 });
    } finally {
      await home.remove();
    }
  }, 180_000); // about 25 spawned commands and two waits for a TOTP step's middle

  it('runs on this host only: refused with --remote, and with --json prints one document', async () => {
    const home = new Home(false);
    try {
      await home.init();
      const remote = await home.run([
        '--remote',
        'http://127.0.0.1:9',
        'admin',
        'migrate-store',
        '--from',
        home.dbPath,
        '--to',
        'postgres://acctsec@/acctsec',
      ]);
      expect(remote.exitCode).toBe(2);
      expect(remote.stderr).toContain('works on this host');
      const target = freshSchema();
      drops.push(() => target.drop());
      const r = await home.run(['--json', 'admin', 'migrate-store', '--from', home.dbPath, '--to', target.url]);
      expect(r.exitCode, r.stderr).toBe(0);
      const result = json<StoreMigration>(r);
      expect(result).toMatchObject({ dryRun: false, verified: true, problems: [], key: { fileState: 'written' } });
      expect(result.tables.find((t) => t.table === 'accounts')).toEqual({ table: 'accounts', rows: 1, copied: 1 });
      expect(existsSync(result.key.file!)).toBe(true);
    } finally {
      await home.remove();
    }
  });
});
