import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type AcctsecError, Conflict } from '../../src/errors.js';
import { createUser, lockUser, recoverWithResetToken } from '../../src/service/admin.js';
import { verifyAudit } from '../../src/service/audit.js';
import type { ServiceContext } from '../../src/service/context.js';
import { readKeyFile, writeKeyFile } from '../../src/service/encryption.js';
import { migrateStore, type MigrateStoreOptions } from '../../src/service/migrate-store.js';
import { createApp } from '../../src/service/oauth-apps.js';
import { authenticate } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { createToken } from '../../src/service/tokens.js';
import { beginTotpEnrollment, confirmTotpEnrollment } from '../../src/service/totp.js';
import { openStore } from '../../src/store/db.js';
import { execOn, freshSchema, PG_TEST_URL } from '../pg.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { PASSWORD, testContext, withAlice } from './context.js';
import { register } from './key-ceremonies.js';

// `admin migrate-store` (issue #22) in the service layer: a SQLite file with real rows of every kind
// copied into a fresh PostgreSQL schema, and used there; what is refused; and that a failure half way
// leaves the target as it was. Runs with ACCTSEC_TEST_DATABASE (a cluster: scripts/pg-cluster.sh).

const WHY = { reason: 'migration test' };
// Made on first use: without a cluster every case is skipped, and so is this file's afterAll.
let dir: string | undefined;
const workDir = () => (dir ??= mkdtempSync(join(tmpdir(), 'acctsec-migrate-')));
const dropped: (() => void)[] = [];
afterAll(() => {
  for (const drop of dropped) drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function schema() {
  const s = freshSchema();
  dropped.push(() => s.drop());
  return s;
}

type Ctx = ReturnType<typeof testContext>;

/** A service context over `db` with the key `key`, the clock of `like`. */
function over(like: Ctx, db: ServiceContext['db'], key: Buffer): Ctx {
  return { ...like, db, keyring: { key: () => key } };
}

/** A SQLite file with accounts, TOTP, recovery codes, a token, a security key, an OAuth app and audit rows. */
async function sourceDatabase(name: string) {
  const path = join(workDir(), `${name}.db`);
  const key = randomBytes(32);
  writeKeyFile(`${path}.key`, key);
  const base = testContext();
  base.db.close();
  const ctx = over(base, openStore(path, { create: true }), key);
  const { auth: alice } = await withAlice(ctx);
  const e = await beginTotpEnrollment(ctx, alice, { password: PASSWORD }, {});
  const totpKey = base32Decode(e.secret);
  await confirmTotpEnrollment(ctx, alice, hotp(totpKey, Math.floor(ctx.now() / 30_000)), {});
  await createToken(ctx, alice, { name: 'ci', scopes: ['dns:read'], resources: [], expires: '30d' }, undefined, {});
  await createApp(ctx, alice, { name: 'Printer', redirectUris: ['https://printer.example/cb'] }, undefined, {});
  for (const n of ['bob', 'dave'])
    await createUser(
      ctx,
      alice,
      { username: n, email: `${n}@example.com`, role: 'user', printToken: true, ...WHY },
      {},
    );
  await lockUser(ctx, alice, 'dave', true, { ...WHY, dryRun: false }, {});
  // carol sets her password with her reset token and adds a security key.
  const made = await createUser(
    ctx,
    alice,
    { username: 'carol', email: 'carol@example.com', role: 'user', printToken: true, ...WHY },
    {},
  );
  await recoverWithResetToken(ctx, { username: 'carol', token: made.resetToken!, newPassword: PASSWORD }, {});
  const carol = await signIn(ctx, { username: 'carol', password: PASSWORD }, {});
  if (carol.status !== 'signed-in') throw new Error(carol.status);
  await register(ctx, authenticate(ctx, carol.session.token), 'blue');
  ctx.clock.advance(60_000);
  const head = verifyAudit(ctx).head;
  ctx.db.close();
  return { path, key, totpKey, head, ctx: base };
}

function options(from: string, to: string, extra: Partial<MigrateStoreOptions> = {}): MigrateStoreOptions {
  return {
    from,
    to,
    sourceKeyPath: `${from}.key`,
    targetKeyPath: join(workDir(), `postgres-${randomBytes(4).toString('hex')}.key`),
    dryRun: false,
    ...extra,
  };
}

/** The tables of the target's schema (none: nothing was made there). */
function tablesOf(url: string): string[] {
  const db = openStore(url, { create: true, migrate: false });
  try {
    return (
      db
        .prepare('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema()')
        .all() as { t: string }[]
    )
      .map((r) => r.t)
      .sort();
  } finally {
    db.close();
  }
}

function refusal(fn: () => unknown): AcctsecError {
  try {
    fn();
  } catch (err) {
    return err as AcctsecError;
  }
  throw new Error('expected a refusal');
}

describe.runIf(PG_TEST_URL)('admin migrate-store into PostgreSQL', () => {
  it('copies every table, verifies counts, contents and the audit head, and the copy works: sign-in with TOTP, new rows, the audit log', async () => {
    const src = await sourceDatabase('full');
    const target = schema();
    const opts = options(src.path, target.url);
    const r = migrateStore(opts);
    expect(r.verified).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.schemaVersion).toBe(18);
    const rows = Object.fromEntries(r.tables.map((t) => [t.table, t.rows]));
    expect(rows).toMatchObject({ accounts: 4, totp_credentials: 1, tokens: 1, security_keys: 1, oauth_apps: 1 });
    expect(rows.recovery_codes).toBeGreaterThanOrEqual(10);
    expect(rows.audit_log).toBeGreaterThanOrEqual(5);
    for (const t of r.tables) expect(t.copied, t.table).toBe(t.rows);
    expect(r.audit.head).toBe(src.head);
    expect(r.audit.copy).toMatchObject({ intact: true, head: src.head, rows: rows.audit_log });
    // The key went to the PostgreSQL key file, mode 0600.
    expect(r.key).toEqual({ source: opts.sourceKeyPath, file: opts.targetKeyPath, fileState: 'written' });
    expect(readKeyFile(opts.targetKeyPath).equals(src.key)).toBe(true);

    // The copy, used as serve would: the same key opens the TOTP seed, and the sign-in needs it.
    const pg = over(src.ctx, openStore(target.url, { create: false }), src.key);
    try {
      const first = await signIn(pg, { username: 'alice', password: PASSWORD }, {});
      expect(first.status).toBe('second-factor-required');
      pg.clock.advance(30_000); // the next TOTP step: the one used at enrolment is spent
      const code = hotp(src.totpKey, Math.floor(pg.now() / 30_000));
      const done = await signIn(
        pg,
        { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code } },
        {},
      );
      expect(done.status).toBe('signed-in');
      const alice = authenticate(pg, done.status === 'signed-in' ? done.session.token : '');
      // Sequences were moved past the copied ids: new rows (an account, audit rows) get fresh ids.
      const maxId = (pg.db.prepare('SELECT max(id) AS m FROM accounts').get() as { m: number }).m;
      await createUser(
        pg,
        alice,
        { username: 'erin', email: 'erin@example.com', role: 'user', printToken: true, ...WHY },
        {},
      );
      expect((pg.db.prepare("SELECT id FROM accounts WHERE username = 'erin'").get() as { id: number }).id).toBe(
        maxId + 1,
      );
      const keys = pg.db.prepare('SELECT rowid FROM security_keys').pluck().all();
      expect(keys).toEqual([1]);
      const v = verifyAudit(pg);
      expect(v).toMatchObject({ intact: true, rows: rows.audit_log! + 1 });
    } finally {
      pg.db.close();
    }
  });

  it('refuses a target that holds an acctsec schema (exit 5) and changes nothing in it', async () => {
    const src = await sourceDatabase('twice');
    const target = schema();
    migrateStore(options(src.path, target.url));
    execOn(target.url, "INSERT INTO meta (key, value) VALUES ('marker', 'kept')");
    const before = tablesOf(target.url);
    const err = refusal(() => migrateStore(options(src.path, target.url)));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.slug).toBe('target_not_empty');
    expect(err.message).toMatch(/already holds an acctsec schema \(version 18\)/);
    expect(tablesOf(target.url)).toEqual(before);
    const pg = openStore(target.url, { create: false });
    try {
      expect(pg.prepare('SELECT count(*) AS n FROM accounts').get()).toEqual({ n: 4 });
      expect(pg.prepare("SELECT value FROM meta WHERE key = 'marker'").get()).toEqual({ value: 'kept' });
    } finally {
      pg.close();
    }
  });

  it('a row PostgreSQL refuses, half way through the tables, rolls everything back: the target stays empty', async () => {
    const src = await sourceDatabase('bad-row');
    // SQLite keeps text in an INTEGER column; PostgreSQL's BIGINT refuses it. totp_credentials comes
    // after accounts, sessions, tokens... in the copy's order: those were already inserted.
    const raw = new Database(src.path);
    raw.prepare("UPDATE totp_credentials SET created_at = 'yesterday'").run();
    raw.close();
    const target = schema();
    const opts = options(src.path, target.url);
    const err = refusal(() => migrateStore(opts));
    expect(err.slug).toBe('copy_failed');
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/copying the table totp_credentials failed: .*bigint.*nothing was written/);
    expect(tablesOf(target.url)).toEqual([]);
    expect(existsSync(opts.targetKeyPath)).toBe(false);
  });

  it('a target with a table of ours already there (no schema_version) is refused as not empty and left as it was', async () => {
    const src = await sourceDatabase('clash');
    const target = schema();
    execOn(target.url, 'CREATE TABLE accounts (x int); INSERT INTO accounts VALUES (7)');
    const err = refusal(() => migrateStore(options(src.path, target.url)));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.message).toMatch(/not empty: creating the acctsec schema met an object already there/);
    expect(tablesOf(target.url)).toEqual(['accounts']);
  });

  it('refuses before anything: an outdated source, a different key in the PostgreSQL key file, a wrong key', async () => {
    const src = await sourceDatabase('refusals');
    const target = schema();
    const old = join(workDir(), 'old.db');
    copyFileSync(src.path, old);
    copyFileSync(`${src.path}.key`, `${old}.key`);
    const raw = new Database(old);
    raw.pragma('user_version = 17');
    raw.close();
    const outdated = refusal(() => migrateStore(options(old, target.url)));
    expect(outdated.slug).toBe('source_outdated');
    expect(outdated.message).toMatch(/at schema 17, this build's is 18: .*acctsec --db .* status/);

    const otherKey = join(workDir(), 'other-postgres.key');
    writeKeyFile(otherKey, randomBytes(32));
    const clash = refusal(() => migrateStore(options(src.path, target.url, { targetKeyPath: otherKey })));
    expect(clash.slug).toBe('key_exists');

    const wrong = refusal(() =>
      migrateStore(options(src.path, target.url, { envKey: randomBytes(32).toString('base64') })),
    );
    expect(wrong.message).toMatch(/does not match/);
    expect(tablesOf(target.url)).toEqual([]);
  });

  it('--dry-run counts and checks, and writes nothing (neither tables nor the key file)', async () => {
    const src = await sourceDatabase('dry');
    const target = schema();
    const opts = options(src.path, target.url, { dryRun: true });
    const r = migrateStore(opts);
    expect(r).toMatchObject({ dryRun: true, verified: null, audit: { head: src.head, copy: null } });
    expect(r.key.fileState).toBe('would-write');
    expect(r.tables.find((t) => t.table === 'accounts')).toEqual({ table: 'accounts', rows: 4, copied: null });
    expect(tablesOf(target.url)).toEqual([]);
    expect(existsSync(opts.targetKeyPath)).toBe(false);
    expect(readFileSync(`${src.path}.key`, 'utf8')).toBe(`${src.key.toString('base64')}\n`);
  });
});
