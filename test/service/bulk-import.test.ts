import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AuthFailed, Conflict, Forbidden, InvalidInput, NotFound, Unavailable } from '../../src/errors.js';
import { createMailer, DEFAULT_FROM, type Mailer } from '../../src/mail/mailer.js';
import { createUser, recoverWithResetToken } from '../../src/service/admin.js';
import { verifyAudit } from '../../src/service/audit.js';
import { exportUsers, IMPORT_MAIL_PER_SECOND, IMPORT_TOKEN_MS, importUsers } from '../../src/service/bulk-import.js';
import { signIn } from '../../src/service/sign-in.js';
import { authenticate, type Auth } from '../../src/service/sessions.js';
import { beginTotpEnrollment, confirmTotpEnrollment } from '../../src/service/totp.js';
import { IMPORT_MAIL_BATCH_ROWS } from '../../src/schemas.js';
import type { AdminImportBatch } from '../../src/views.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { PASSWORD, testContext, withAlice } from './context.js';

const WHY = { reason: 'directory migration' };

function rows(n: number, from = 0): AdminImportBatch['rows'] {
  return Array.from({ length: n }, (_, i) => ({
    line: from + i + 2,
    username: `user${from + i}`,
    email: `user${from + i}@example.com`,
  }));
}

function count(ctx: ReturnType<typeof testContext>, table: string): number {
  return (ctx.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

/** Every text and blob of the database, as one string: where a token in clear would show. */
function everything(ctx: ReturnType<typeof testContext>): string {
  const tables = ctx.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables
    .map((t) =>
      JSON.stringify(ctx.db.prepare(`SELECT * FROM "${t.name}"`).all(), (_k, v: unknown) =>
        Buffer.isBuffer(v) ? v.toString('latin1') : v,
      ),
    )
    .join('\n');
}

async function claimed(ctx: ReturnType<typeof testContext>) {
  return withAlice(ctx);
}

/** A second admin, signed in: imported with its token by `auth`'s import, its password set. */
async function adminAuth(ctx: ReturnType<typeof testContext>, auth: Auth, username: string): Promise<Auth> {
  const made = await importUsers(
    ctx,
    auth,
    { ...WHY, rows: [{ line: 2, username, email: `${username}@example.com`, role: 'admin' }], returnTokens: true },
    {},
  );
  await recoverWithResetToken(ctx, { username, token: made.tokens![0]!.token, newPassword: PASSWORD }, {});
  const signedIn = await signIn(ctx, { username, password: PASSWORD }, {});
  if (signedIn.status !== 'signed-in') throw new Error('no session');
  return authenticate(ctx, signedIn.session.token);
}

describe('admin users import (issue #19 §4)', () => {
  it('a dry run judges every row and reports what it would do, writing nothing', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    const before = [
      count(ctx, 'accounts'),
      count(ctx, 'audit_log'),
      count(ctx, 'reset_tokens'),
      count(ctx, 'activity'),
    ];
    const r = await importUsers(
      ctx,
      auth,
      {
        ...WHY,
        dryRun: true,
        rows: [
          ...rows(3),
          { line: 9, username: 'alice', email: 'alice@example.com' },
          { line: 10, username: 'user1', email: 'again@example.com' },
          { line: 11, username: 'no good!', email: 'x@example.com' },
          { line: 12, username: 'okname', email: 'not-an-address' },
          { line: 13, username: 'okname2', email: 'ok@example.com', role: 'root' },
        ],
      },
      {},
    );
    expect(r).toEqual({
      dryRun: true,
      created: 3,
      existing: ['alice', 'user1'],
      invalid: [
        { line: 11, value: 'no good!', reason: expect.stringContaining('invalid username "no good!"') as string },
        { line: 12, value: 'not-an-address', reason: 'invalid email address "not-an-address"' },
        { line: 13, value: 'root', reason: 'invalid role "root": use user, support or admin' },
      ],
    });
    expect([
      count(ctx, 'accounts'),
      count(ctx, 'audit_log'),
      count(ctx, 'reset_tokens'),
      count(ctx, 'activity'),
    ]).toEqual(before);
  });

  it('an invalid row refuses the whole batch, naming its line; --skip-invalid creates the others', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    const batch = [...rows(2), { line: 7, username: 'x', email: 'x@example.com' }];
    const err = (await importUsers(ctx, auth, { ...WHY, rows: batch, returnTokens: true }, {}).catch(
      (e: unknown) => e,
    )) as InvalidInput;
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toMatch(/^line 7: invalid username "x"/);
    expect(count(ctx, 'accounts')).toBe(1);
    const r = await importUsers(ctx, auth, { ...WHY, rows: batch, returnTokens: true, skipInvalid: true }, {});
    expect(r.created).toBe(2);
    expect(r.invalid.map((i) => i.line)).toEqual([7]);
    expect(count(ctx, 'accounts')).toBe(3);
  });

  it('a new account has no password: any password fails at sign-in; its token (hash stored only) sets one, once', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    const r = await importUsers(ctx, auth, { ...WHY, rows: rows(2), returnTokens: true }, {});
    expect(r.tokensExpireAt).toBe(new Date(ctx.now() + IMPORT_TOKEN_MS).toISOString());
    const [t0, t1] = r.tokens!;
    expect(t0).toMatchObject({ username: 'user0', token: expect.stringMatching(/^acs_rst_/) as string });
    const row = ctx.db.prepare("SELECT password_hash FROM accounts WHERE username = 'user0'").get() as {
      password_hash: string;
    };
    expect(row.password_hash).toBe('!');
    for (const guess of ['', '!', 'a wrong password'])
      await expect(signIn(ctx, { username: 'user0', password: guess }, {})).rejects.toBeInstanceOf(AuthFailed);
    // Neither token is in the database, the activity log or the audit log in clear.
    const all = everything(ctx);
    expect(all).not.toContain(t0!.token);
    expect(all).not.toContain(t1!.token);
    await recoverWithResetToken(
      ctx,
      { username: 'user0', token: t0!.token, newPassword: 'a fresh start passphrase' },
      {},
    );
    expect((await signIn(ctx, { username: 'user0', password: 'a fresh start passphrase' }, {})).status).toBe(
      'signed-in',
    );
    await expect(
      recoverWithResetToken(ctx, { username: 'user0', token: t0!.token, newPassword: 'another passphrase here' }, {}),
    ).rejects.toBeInstanceOf(AuthFailed);
    // A token opens its own account only.
    await expect(
      recoverWithResetToken(ctx, { username: 'user0', token: t1!.token, newPassword: 'another passphrase here' }, {}),
    ).rejects.toBeInstanceOf(AuthFailed);
  });

  it('running the same rows again creates nothing and changes nothing: the names are reported as existing', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    await importUsers(ctx, auth, { ...WHY, rows: rows(3), returnTokens: true }, {});
    const audit = count(ctx, 'audit_log');
    const changed = rows(3).map((r) => ({ ...r, email: `changed.${r.email}`, role: 'admin' }));
    const again = await importUsers(ctx, auth, { ...WHY, rows: changed, returnTokens: true }, {});
    expect(again).toMatchObject({ created: 0, existing: ['user0', 'user1', 'user2'], tokens: [] });
    expect(ctx.db.prepare("SELECT email, role FROM accounts WHERE username = 'user1'").get()).toEqual({
      email: 'user1@example.com',
      role: 'user',
    });
    expect(count(ctx, 'accounts')).toBe(4);
    expect(count(ctx, 'audit_log')).toBe(audit);
  });

  it('audited: a row per account and one summary of the import with its count; the chain verifies after 2,500 rows', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    const first = await importUsers(ctx, auth, { ...WHY, rows: rows(1000), returnTokens: true }, {});
    const importId = first.importId!;
    expect(importId).toMatch(/^imp_[\w-]{16}$/);
    await importUsers(ctx, auth, { ...WHY, importId, rows: rows(1000, 1000), returnTokens: true }, {});
    const finish = { file: 'staff.csv', fromLine: 1, lines: 2500, existing: 0, invalid: 0, batches: 3 };
    await importUsers(
      ctx,
      auth,
      {
        ...WHY,
        importId,
        rows: rows(500, 2000),
        returnTokens: true,
        finish,
      },
      {},
    );
    expect(count(ctx, 'accounts')).toBe(2501);
    // The run is finished once: a second finish (a replayed last batch) is refused, nothing written.
    const audit = count(ctx, 'audit_log');
    await expect(
      importUsers(ctx, auth, { ...WHY, importId, rows: rows(1, 5000), returnTokens: true, finish }, {}),
    ).rejects.toBeInstanceOf(Conflict);
    expect(count(ctx, 'audit_log')).toBe(audit);
    expect(count(ctx, 'accounts')).toBe(2501);
    const summary = ctx.db.prepare("SELECT * FROM audit_log WHERE action = 'users.import'").all() as {
      actor: string;
      reason: string;
      detail: string;
      id: number;
    }[];
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ actor: 'alice', reason: 'directory migration' });
    expect(JSON.parse(summary[0]!.detail)).toMatchObject({
      import: importId,
      created: 2500,
      file: 'staff.csv',
      batches: 3,
    });
    expect(
      (
        ctx.db
          .prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'users.create' AND target LIKE 'user%'")
          .get() as { n: number }
      ).n,
    ).toBe(2500);
    expect(
      (
        ctx.db
          .prepare("SELECT count(*) AS n FROM activity WHERE event = 'account.created' AND detail LIKE ?")
          .get(`%${importId}%`) as { n: number }
      ).n,
    ).toBe(2500);
    expect(verifyAudit(ctx)).toMatchObject({ intact: true, rows: 2501 });
  });

  it('a mixed chain (single rows, then a batch, then single rows) still verifies', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    await createUser(
      ctx,
      auth,
      { username: 'before', email: 'before@example.com', reason: 'new hire', printToken: true },
      {},
    );
    await importUsers(ctx, auth, { ...WHY, rows: rows(10), returnTokens: true }, {});
    await createUser(
      ctx,
      auth,
      { username: 'after', email: 'after@example.com', reason: 'new hire', printToken: true },
      {},
    );
    expect(verifyAudit(ctx)).toMatchObject({ intact: true, rows: 12 });
  });

  it('support staff and plain users are refused (exit 7), and the refusal is audited', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    const made = await importUsers(
      ctx,
      auth,
      {
        ...WHY,
        rows: [
          { line: 2, username: 'sam', email: 'sam@example.com', role: 'support' },
          { line: 3, username: 'uma', email: 'uma@example.com' },
        ],
        returnTokens: true,
      },
      {},
    );
    for (const t of made.tokens!) {
      await recoverWithResetToken(ctx, { username: t.username, token: t.token, newPassword: PASSWORD }, {});
      const signedIn = await signIn(ctx, { username: t.username, password: PASSWORD }, {});
      if (signedIn.status !== 'signed-in') throw new Error('no session');
      const who = authenticate(ctx, signedIn.session.token);
      await expect(importUsers(ctx, who, { ...WHY, rows: rows(1) }, {})).rejects.toBeInstanceOf(Forbidden);
      await expect(collect(exportUsers(ctx, who, undefined, {}))).rejects.toThrow(Forbidden);
    }
    expect(count(ctx, 'accounts')).toBe(3);
    expect(
      (
        ctx.db
          .prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'users.import' AND outcome = 'refused'")
          .get() as { n: number }
      ).n,
    ).toBe(2);
  });

  it("a run's id is the back end's: a made-up one, or another admin's, is not found (exit 4)", async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    const madeUp = importUsers(ctx, auth, { ...WHY, importId: 'imp_chosen', rows: rows(1), returnTokens: true }, {});
    await expect(madeUp).rejects.toBeInstanceOf(NotFound);
    const { importId } = await importUsers(ctx, auth, { ...WHY, rows: rows(1), returnTokens: true }, {});
    const other = await adminAuth(ctx, auth, 'root2');
    const borrowed = importUsers(ctx, other, { ...WHY, importId, rows: rows(1, 10), returnTokens: true }, {});
    await expect(borrowed).rejects.toBeInstanceOf(NotFound);
    expect(count(ctx, 'accounts')).toBe(3);
  });

  it('a batch whose tokens are mailed has at most IMPORT_MAIL_BATCH_ROWS rows; imports at once share one pace', async () => {
    const outbox = join(tmpdir(), `acctsec-import-pace-${process.pid}-${Date.now()}`);
    const ctx = testContext({ mailer: createMailer({ from: DEFAULT_FROM, outboxDir: outbox }) });
    const { auth } = await claimed(ctx);
    try {
      const big = importUsers(ctx, auth, { ...WHY, rows: rows(IMPORT_MAIL_BATCH_ROWS + 1) }, {});
      await expect(big).rejects.toBeInstanceOf(InvalidInput);
      expect(count(ctx, 'accounts')).toBe(1);
      // Two batches of 25 at once: 50 mails at 50 a second take about a second, not half of one each.
      const started = performance.now();
      await Promise.all([
        importUsers(ctx, auth, { ...WHY, rows: rows(25) }, {}),
        importUsers(ctx, auth, { ...WHY, rows: rows(25, 100) }, {}),
      ]);
      const seconds = (performance.now() - started) / 1000;
      expect(seconds).toBeGreaterThanOrEqual(49 / IMPORT_MAIL_PER_SECOND - 0.05);
      expect(readdirSync(outbox)).toHaveLength(50);
    } finally {
      rmSync(outbox, { recursive: true, force: true });
    }
  });

  it('without --tokens-to each owner is mailed the token, at most IMPORT_MAIL_PER_SECOND a second', async () => {
    const outbox = join(tmpdir(), `acctsec-import-outbox-${process.pid}-${Date.now()}`);
    const ctx = testContext({ mailer: createMailer({ from: DEFAULT_FROM, outboxDir: outbox }) });
    const { auth } = await claimed(ctx);
    const n = IMPORT_MAIL_PER_SECOND + 11;
    const started = performance.now();
    const r = await importUsers(ctx, auth, { ...WHY, rows: rows(n) }, {});
    const seconds = (performance.now() - started) / 1000;
    try {
      expect(r).toMatchObject({ created: n, mailed: n, undelivered: [] });
      expect(r.tokens).toBeUndefined();
      expect(seconds).toBeGreaterThanOrEqual((n - 1) / IMPORT_MAIL_PER_SECOND - 0.05);
      const mails = readdirSync(outbox).map((f) => readFileSync(join(outbox, f), 'utf8'));
      expect(mails).toHaveLength(n);
      expect(mails.filter((m) => /acs_rst_\w+/.test(m) && m.includes('your new account'))).toHaveLength(n);
      expect(everything(ctx)).not.toMatch(/acs_rst_/);
    } finally {
      rmSync(outbox, { recursive: true, force: true });
    }
  });

  it('a token that cannot be mailed is voided and reported; the account stands', async () => {
    const failing: Mailer = {
      send: () => Promise.reject(new Unavailable('the mail server refused the message', 'mail_failed')),
      notify: () => Promise.resolve(),
    };
    const ctx = testContext({ mailer: failing });
    const { auth } = await claimed(ctx);
    const r = await importUsers(ctx, auth, { ...WHY, rows: rows(2) }, {});
    expect(r).toMatchObject({ created: 2, mailed: 0, undelivered: ['user0', 'user1'] });
    expect(
      (ctx.db.prepare('SELECT count(*) AS n FROM reset_tokens WHERE used_at IS NULL').get() as { n: number }).n,
    ).toBe(0);
    expect(
      (
        ctx.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'reset-token.undelivered'").get() as {
          n: number;
        }
      ).n,
    ).toBe(2);
    expect(verifyAudit(ctx).intact).toBe(true);
  });
});

describe('admin users export (issue #19 §4)', () => {
  it('lists every account with its MFA methods, and no secret or hash', async () => {
    const ctx = testContext();
    const { auth } = await claimed(ctx);
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    await confirmTotpEnrollment(ctx, auth, hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000)), {});
    await importUsers(
      ctx,
      auth,
      { ...WHY, rows: [{ line: 2, username: 'bob', email: 'bob@example.com', role: 'support' }], returnTokens: true },
      {},
    );
    const out = await collect(exportUsers(ctx, auth, undefined, {}));
    expect(out).toEqual([
      {
        username: 'alice',
        email: 'alice@example.com',
        role: 'admin',
        createdAt: new Date(ctx.now()).toISOString(),
        locked: false,
        mfa: ['totp'],
      },
      {
        username: 'bob',
        email: 'bob@example.com',
        role: 'support',
        createdAt: new Date(ctx.now()).toISOString(),
        locked: false,
        mfa: [],
      },
    ]);
    expect(JSON.stringify(out)).not.toContain(e.secret);
    expect(JSON.stringify(out)).not.toMatch(/argon2|acs_rst_/);
    expect((await collect(exportUsers(ctx, auth, 'support', {}))).map((u) => u.username)).toEqual(['bob']);
    await expect(collect(exportUsers(ctx, auth, 'root', {}))).rejects.toThrow(InvalidInput);
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
