import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD, type Result } from './helpers.js';

// `admin users import` and `admin users export` (issue #19 §4), as an operator runs them.

interface ImportSummary {
  created: number;
  existing: number;
  existingUsernames: string[];
  invalid: { line: number; value: string; reason: string }[];
  batches: number;
  dryRun: boolean;
  tokensFile?: string;
}

const WHY = ['--reason', 'directory migration'];
const CLAIMED = 'granite violin harbour lantern';

function usernames(exported: Result): string[] {
  return exported.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',')[0]!);
}

/** The database and its write-ahead log, as bytes: where a token in clear would be found. */
function databaseBytes(home: Home): string {
  return [home.dbPath, `${home.dbPath}-wal`]
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString('latin1'))
    .join('');
}

function tokenLines(path: string): [string, string][] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(',') as [string, string]);
}

describe('admin users import and export', () => {
  const homes: Home[] = [];
  afterEach(async () => {
    await Promise.all(homes.splice(0).map((h) => h.remove()));
  });
  async function adminHome(remote?: boolean): Promise<Home> {
    const home = new Home(remote);
    homes.push(home);
    await home.init(); // alice, the first admin
    return home;
  }
  const admin = (home: Home, args: string[], options: { input?: string; profile?: string } = {}) =>
    home.run(['--profile', options.profile ?? 'default', 'admin', 'users', ...args], { input: options.input });

  async function importAndClaim(home: Home, remote: boolean) {
    const csv = join(home.dir, 'staff.csv');
    writeFileSync(
      csv,
      'username,email,role\nbob,bob@example.com\ncarol,carol@example.com,support\n\n"dave",dave@example.com,user\n',
    );
    const dry = await admin(home, ['import', csv, ...WHY, '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(json<ImportSummary>(dry)).toMatchObject({ dryRun: true, created: 3, existing: 0, invalid: [] });
    expect(usernames(await admin(home, ['export']))).toEqual(['alice']); // the dry run changed nothing

    const tokens = join(home.dir, 'tokens.csv');
    const r = await admin(home, ['import', csv, ...WHY, '--tokens-to', tokens, '--yes', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json<ImportSummary>(r)).toMatchObject({ created: 3, existing: 0, invalid: [], tokensFile: tokens });
    expect(statSync(tokens).mode & 0o777).toBe(0o600);
    const lines = tokenLines(tokens);
    expect(lines.map(([u]) => u)).toEqual(['bob', 'carol', 'dave']);
    for (const [, token] of lines) {
      expect(token).toMatch(/^acs_rst_\w+$/);
      expect(r.stdout + r.stderr).not.toContain(token);
    }
    if (!remote) {
      const bytes = databaseBytes(home);
      for (const [, token] of lines) expect(bytes).not.toContain(token);
    }
    // Each token works once: it sets its owner's password.
    for (const [user, token] of lines) {
      const claim = await home.run(['recover', '--username', user, '--token', token], {
        env: { ACCTSEC_NEW_PASSWORD: CLAIMED },
      });
      expect(claim.exitCode, claim.stderr).toBe(0);
    }
    const again = await home.run(['recover', '--username', 'bob', '--token', lines[0]![1]], {
      env: { ACCTSEC_NEW_PASSWORD: 'yet another passphrase 9' },
    });
    expect(again.exitCode).toBe(3);
    const login = await home.run(['--profile', 'bob', 'login', '--username', 'bob'], {
      env: { ACCTSEC_PASSWORD: CLAIMED },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    return { csv, tokens };
  }

  it('CSV with --tokens-to: the dry run changes nothing; the tokens file is 0600 and each token works once; a re-run creates nothing; audited; exported without secrets', async () => {
    const home = await adminHome(false);
    const { csv } = await importAndClaim(home, false);

    // Idempotent: the same file again reports the names and changes nothing.
    const tokens2 = join(home.dir, 'tokens-again.csv');
    const rerun = await admin(home, ['import', csv, ...WHY, '--tokens-to', tokens2, '--yes', '--json']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(json<ImportSummary>(rerun)).toMatchObject({
      created: 0,
      existing: 3,
      existingUsernames: ['bob', 'carol', 'dave'],
    });
    expect(existsSync(tokens2)).toBe(false);
    // An existing tokens file is never overwritten.
    writeFileSync(join(home.dir, 'taken.csv'), 'keep me');
    writeFileSync(join(home.dir, 'more.csv'), 'username,email\nerin,erin@example.com\n');
    const taken = await admin(home, [
      'import',
      join(home.dir, 'more.csv'),
      ...WHY,
      '--tokens-to',
      join(home.dir, 'taken.csv'),
      '--yes',
    ]);
    expect(taken.exitCode).toBe(5);
    expect(taken.stderr).toContain('taken.csv already exists');
    expect(readFileSync(join(home.dir, 'taken.csv'), 'utf8')).toBe('keep me');

    const audit = json<{ actor: string; target: string | null; action: string; reason: string }[]>(
      await home.run(['admin', 'audit', '--json']),
    );
    expect(audit.filter((e) => e.action === 'users.import')).toEqual([
      expect.objectContaining({ actor: 'alice', target: null, reason: 'directory migration' }),
    ]);
    expect(audit.filter((e) => e.action === 'users.create').map((e) => e.target)).toEqual(['dave', 'carol', 'bob']);
    expect((await home.run(['admin', 'audit', 'verify'])).exitCode).toBe(0);

    const exported = await admin(home, ['export']);
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(exported.stdout.split('\n')[0]).toBe('username,email,role,created,locked,mfa');
    expect(usernames(exported)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(exported.stdout).toMatch(/^carol,carol@example\.com,support,\d{4}-\d\d-\d\dT[\d:.]+Z,no,$/m);
    expect(exported.stdout).not.toMatch(/acs_|argon2|\$/);
    const out = join(home.dir, 'accounts.jsonl');
    const toFile = await admin(home, ['export', '--format', 'jsonl', '--role', 'support', '--output', out]);
    expect(toFile.exitCode, toFile.stderr).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(
      readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      expect.objectContaining({
        username: 'carol',
        email: 'carol@example.com',
        role: 'support',
        locked: false,
        mfa: [],
      }),
    ]);
  }, 120_000);

  it('JSONL: an invalid row refuses the whole import naming its line (exit 2, nothing changed); --skip-invalid imports the others; stdin and --from-line', async () => {
    const home = await adminHome(false);
    const file = join(home.dir, 'staff.jsonl');
    writeFileSync(
      file,
      [
        '{"username":"erin","email":"erin@example.com"}',
        '{"username":"Frank Smith","email":"frank@example.com"}',
        '{"username":"gina","email":"gina@example.com","role":"admin"}',
        '',
      ].join('\n'),
    );
    const refused = await admin(home, ['import', file, ...WHY, '--yes']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('line 2 of staff.jsonl is invalid: invalid username "Frank Smith"');
    expect(refused.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
    expect(usernames(await admin(home, ['export']))).toEqual(['alice']);

    const skipped = await admin(home, ['import', file, ...WHY, '--skip-invalid', '--yes', '--json']);
    expect(skipped.exitCode, skipped.stderr).toBe(0);
    const s = json<ImportSummary>(skipped);
    expect(s).toMatchObject({ created: 2, existing: 0 });
    expect(s.invalid).toEqual([
      { line: 2, value: 'Frank Smith', reason: expect.stringContaining('invalid username "Frank Smith"') as string },
    ]);
    // Mailed: each new owner gets the token in a message (the outbox, with no SMTP set), not the terminal.
    expect(usernames(await admin(home, ['export']))).toEqual(['alice', 'erin', 'gina']);
    const outbox = join(home.dir, '.local/state/acctsec/outbox');
    const mails = readdirSync(outbox).map((f) => readFileSync(join(outbox, f), 'utf8'));
    for (const who of ['erin', 'gina'])
      expect(mails.filter((m) => m.includes(`To: ${who}@example.com`) && /acs_rst_\w+/.test(m))).toHaveLength(1);
    expect(skipped.stdout + skipped.stderr).not.toContain('acs_rst_');

    // stdin, and resuming at a line: only the rows from line 2 on.
    const piped = await admin(
      home,
      ['import', '-', '--format', 'jsonl', ...WHY, '--from-line', '2', '--yes', '--json'],
      {
        input: '{"username":"hank","email":"hank@example.com"}\n{"username":"ivy","email":"ivy@example.com"}\n',
      },
    );
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(json<ImportSummary>(piped)).toMatchObject({ created: 1 });
    expect(usernames(await admin(home, ['export']))).toEqual(['alice', 'erin', 'gina', 'ivy']);

    // A pipe named as a file (a FIFO here; a shell's `<(...)` alike) is read once, like '-': both passes
    // see the same rows.
    const fifo = join(home.dir, 'rows.jsonl');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const [named] = await Promise.all([
      admin(home, ['import', fifo, ...WHY, '--yes', '--json']),
      writeFile(fifo, '{"username":"jay","email":"jay@example.com"}\n'),
    ]);
    expect(named.exitCode, named.stderr).toBe(0);
    expect(json<ImportSummary>(named)).toMatchObject({ created: 1 });
    const folder = await admin(home, ['import', home.dir, '--format', 'jsonl', ...WHY, '--yes']);
    expect(folder.exitCode).toBe(2);
    expect(folder.stderr).toContain('is a folder');
  }, 120_000);

  it('a bad file is one line naming it (exit 2), and a non-admin is refused (exit 7)', async () => {
    const home = await adminHome(false);
    const badHeader = join(home.dir, 'bad.csv');
    writeFileSync(badHeader, 'user,mail\nbob,bob@example.com\n');
    const r = await admin(home, ['import', badHeader, ...WHY, '--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('line 1 of bad.csv: the header must name the columns username,email[,role], not "user"');
    const unknown = await admin(home, ['import', join(home.dir, 'staff.txt'), ...WHY, '--yes']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--format');

    const csv = join(home.dir, 'one.csv');
    writeFileSync(csv, 'username,email\numa,uma@example.com\n');
    const tokens = join(home.dir, 'tokens.csv');
    expect((await admin(home, ['import', csv, ...WHY, '--tokens-to', tokens, '--yes'])).exitCode).toBe(0);
    const [[, token]] = tokenLines(tokens) as [[string, string]];
    await home.run(['recover', '--username', 'uma', '--token', token], {
      env: { ACCTSEC_NEW_PASSWORD: PASSWORD },
    });
    const login = await home.run(['--profile', 'uma', 'login', '--username', 'uma'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    writeFileSync(csv, 'username,email\nzed,zed@example.com\n');
    const asUser = await admin(home, ['import', csv, ...WHY, '--yes'], { profile: 'uma' });
    expect(asUser.exitCode).toBe(7);
    // A refused export writes nothing: no CSV header on stdout, no --output file left behind.
    const refused = await admin(home, ['export'], { profile: 'uma' });
    expect(refused.exitCode).toBe(7);
    expect(refused.stdout).toBe('');
    const out = join(home.dir, 'refused.csv');
    expect((await admin(home, ['export', '--output', out], { profile: 'uma' })).exitCode).toBe(7);
    expect(existsSync(out)).toBe(false);
    expect(usernames(await admin(home, ['export']))).toEqual(['alice', 'uma']);
  }, 120_000);

  it('remote: import through `acctsec serve` in batches, tokens claimed, export streamed', async () => {
    const home = await adminHome(true);
    await importAndClaim(home, true);
    const many = join(home.dir, 'many.csv');
    writeFileSync(
      many,
      ['username,email', ...Array.from({ length: 2100 }, (_, i) => `member${i},member${i}@example.com`), ''].join('\n'),
    );
    const tokens = join(home.dir, 'many-tokens.csv');
    const r = await admin(home, ['import', many, ...WHY, '--tokens-to', tokens, '--yes', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = json<ImportSummary>(r);
    expect(s.created).toBe(2100);
    expect(s.batches).toBeGreaterThanOrEqual(3);
    expect(tokenLines(tokens)).toHaveLength(2100);
    const exported = await admin(home, ['export', '--format', 'jsonl']);
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(exported.stdout.trim().split('\n')).toHaveLength(2104);
    const audit = json<{ action: string }[]>(await home.run(['admin', 'audit', '--json', '--limit', '10']));
    expect(audit[0]).toMatchObject({ action: 'users.import' });
  }, 180_000);
});
