import Database from 'better-sqlite3';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthFailed, Forbidden, InvalidInput, NotFound, Throttled } from '../../src/errors.js';
import {
  auditLogHead,
  createUser,
  listUsers,
  USERS_PAGE,
  recoverWithResetToken,
  resetPassword,
  showUser,
  verifyAuditLog,
} from '../../src/service/admin.js';
import { appendAudit, auditHead, parseAuditHead, sealOldAuditRows, verifyAudit } from '../../src/service/audit.js';
import type { ServiceContext } from '../../src/service/context.js';
import { insertAccount } from '../../src/store/accounts.js';
import { openStore } from '../../src/store/db.js';
import { HOUR, MINUTE, testContext, withAlice } from './context.js';

describe('admin users show', () => {
  it('says whether the address is verified (issue #20 §3): a new account is not until its owner enters the code', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await createUser(
      ctx,
      auth,
      { username: 'uma', email: 'uma@example.com', reason: 'new hire', printToken: true },
      {},
    );
    expect(showUser(ctx, auth, 'uma', {}).emailVerified).toBe(false);
    ctx.db.prepare("UPDATE accounts SET email_verified_at = 1 WHERE username = 'uma'").run();
    expect(showUser(ctx, auth, 'uma', {}).emailVerified).toBe(true);
  });
});

describe('reset tokens', () => {
  it('an expired reset token (injected clock) is refused; a new reset voids the earlier token', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const created = await createUser(
      ctx,
      auth,
      { username: 'uma', email: 'uma@example.com', reason: 'new hire', printToken: true },
      {},
    );
    ctx.clock.advance(HOUR + MINUTE);
    await expect(
      recoverWithResetToken(
        ctx,
        { username: 'uma', token: created.resetToken!, newPassword: 'a fresh start passphrase' },
        {},
      ),
    ).rejects.toBeInstanceOf(AuthFailed);
    const first = await resetPassword(ctx, auth, 'uma', { reason: 'try again', printToken: true }, {});
    const second = await resetPassword(ctx, auth, 'uma', { reason: 'and again', printToken: true }, {});
    await expect(
      recoverWithResetToken(
        ctx,
        { username: 'uma', token: first.resetToken!, newPassword: 'a fresh start passphrase' },
        {},
      ),
    ).rejects.toBeInstanceOf(AuthFailed);
    await expect(
      recoverWithResetToken(
        ctx,
        { username: 'bob', token: second.resetToken!, newPassword: 'a fresh start passphrase' },
        {},
      ),
    ).rejects.toBeInstanceOf(AuthFailed);
    expect(
      await recoverWithResetToken(
        ctx,
        { username: 'uma', token: second.resetToken!, newPassword: 'a fresh start passphrase' },
        {},
      ),
    ).toMatchObject({ username: 'uma' });
  });

  it('a plain user is refused (exit 7), and the refusal is audited', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    auth.account.role = 'user';
    await expect(resetPassword(ctx, auth, 'alice', { reason: 'because' }, {})).rejects.toBeInstanceOf(Forbidden);
    expect(ctx.db.prepare('SELECT actor, action, outcome FROM audit_log').all()).toEqual([
      { actor: 'alice', action: 'reset-password', outcome: 'refused' },
    ]);
  });
});

describe('the audit log', () => {
  function logWith(rows: number) {
    const ctx = testContext();
    for (let i = 0; i < rows; i++)
      appendAudit(ctx, {
        actor: 'alice',
        target: `u${i}`,
        action: 'lock',
        reason: `reason ${i}`,
        outcome: 'ok',
        ip: null,
      });
    return ctx;
  }

  it('holds when untouched, and refuses UPDATE and DELETE through SQL', () => {
    const ctx = logWith(5);
    expect(verifyAudit(ctx)).toMatchObject({
      intact: true,
      rows: 5,
      firstBadRow: null,
      problem: null,
      problems: [],
      missingTriggers: [],
    });
    expect(verifyAudit(ctx).head).toMatch(/^5:[0-9a-f]{64}$/);
    expect(() => ctx.db.prepare("UPDATE audit_log SET reason = 'x' WHERE id = 1").run()).toThrow('append-only');
    expect(() => ctx.db.prepare('DELETE FROM audit_log WHERE id = 1').run()).toThrow('append-only');
  });

  it('names the first changed row, a removed row, and removed newest rows', () => {
    const changed = logWith(5);
    changed.db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE id = 3");
    expect(verifyAudit(changed)).toMatchObject({
      intact: false,
      firstBadRow: 3,
      problem: 'row 3 was changed after it was written',
    });

    const removed = logWith(5);
    removed.db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = 2');
    expect(verifyAudit(removed)).toMatchObject({ intact: false, firstBadRow: 3 });

    const truncated = logWith(5);
    truncated.db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id >= 4');
    expect(verifyAudit(truncated)).toMatchObject({ intact: false, firstBadRow: 4 });
    expect(verifyAudit(truncated).problem).toContain('the newest rows after row 3 were removed');
  });

  it('removing the newest rows and rewriting the stored head is found: the head is sealed under the key', () => {
    const ctx = logWith(5);
    ctx.db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id >= 4');
    const row3 = ctx.db.prepare('SELECT id, hash FROM audit_log WHERE id = 3').get() as { id: number; hash: string };
    // What someone without the key file can write as the head: the row's MAC, or a seal under a key of their own.
    for (const forged of [
      row3.hash,
      createHmac('sha256', randomBytes(32)).update(`acctsec audit head v1\n3:${row3.hash}`).digest('hex'),
    ]) {
      ctx.db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head_seal'").run(forged);
      const v = verifyAudit(ctx);
      expect(v).toMatchObject({ intact: false, firstBadRow: 4 });
      expect(v.problem).toContain('the stored head does not match the newest row 3');
    }
  });

  it('emptying the log and deleting its stored head is found; a log that never had a row holds (its empty head is sealed at init)', async () => {
    const fresh = testContext();
    await withAlice(fresh);
    expect(verifyAudit(fresh)).toMatchObject({ intact: true, rows: 0, problems: [] });
    // Someone with write access but without the key: every row and the head gone, the trigger put back as it was.
    const ctx = testContext();
    await withAlice(ctx);
    for (let i = 0; i < 3; i++)
      appendAudit(ctx, {
        actor: 'alice',
        target: `u${i}`,
        action: 'lock',
        reason: `reason ${i}`,
        outcome: 'ok',
        ip: null,
      });
    const sql = (
      ctx.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_delete'").get() as { sql: string }
    ).sql;
    ctx.db.exec(
      `DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log; DELETE FROM meta WHERE key = 'audit_head_seal'; ${sql};`,
    );
    const v = verifyAudit(ctx);
    expect(v).toMatchObject({ intact: false, rows: 0, missingTriggers: [] });
    expect(v.problem).toContain('the log and its stored head are both gone');
    // Keeping the head but emptying the log is found too.
    const kept = testContext();
    await withAlice(kept);
    appendAudit(kept, { actor: 'alice', target: 'u', action: 'lock', reason: 'r', outcome: 'ok', ip: null });
    kept.db.exec(`DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log; ${sql};`);
    expect(verifyAudit(kept).problem).toContain('the log is empty but its stored head is not');
  });

  /** Rewrites every row's chain as someone with write access to the file could, and the head to fit. */
  function rechain(ctx: ServiceContext, chain: string, mac: (prev: string, canonical: string) => string): void {
    ctx.db.exec('DROP TRIGGER audit_log_no_update');
    let prev = '0'.repeat(64);
    for (const r of ctx.db.prepare('SELECT * FROM audit_log ORDER BY id').all() as Record<string, unknown>[]) {
      const canonical = JSON.stringify([r.at, r.actor, r.target, r.action, r.reason, r.outcome, r.ip, r.detail]);
      const hash = mac(prev, canonical);
      ctx.db
        .prepare('UPDATE audit_log SET prev_hash = ?, hash = ?, chain = ? WHERE id = ?')
        .run(prev, hash, chain, r.id);
      prev = hash;
    }
    ctx.db
      .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?), ('audit_head_seal', ?)")
      .run(prev, prev);
  }
  const sha256 = (prev: string, canonical: string) =>
    createHash('sha256').update(prev).update('\n').update(canonical).digest('hex');

  it('a chain recomputed with plain SHA-256, in either format, or under another key, is found', () => {
    const asHmac = logWith(5);
    rechain(asHmac, 'hmac-sha256', sha256);
    expect(verifyAudit(asHmac)).toMatchObject({
      intact: false,
      firstBadRow: 1,
      problem: 'row 1 was changed after it was written',
    });

    // Every row passed off as written before the upgrade: nothing in the database vouches for that.
    const asOld = logWith(5);
    rechain(asOld, 'sha256', sha256);
    asOld.db.exec("DELETE FROM meta WHERE key = 'audit_head_seal'");
    const old = verifyAudit(asOld);
    expect(old.intact).toBe(false);
    expect(old.problem).toContain('none of the 5 rows is under the HMAC chain');

    const otherKey = logWith(5);
    const key = randomBytes(32);
    rechain(otherKey, 'hmac-sha256', (prev, canonical) =>
      createHmac('sha256', key).update(`hmac-sha256\n${prev}\n`).update(canonical).digest('hex'),
    );
    expect(verifyAudit(otherKey)).toMatchObject({ intact: false, firstBadRow: 1 });
  });

  it('a dropped or altered append-only trigger is reported, even when every row holds', () => {
    const dropped = logWith(3);
    dropped.db.exec('DROP TRIGGER audit_log_no_delete');
    expect(verifyAudit(dropped)).toMatchObject({ intact: false, rows: 3, missingTriggers: ['audit_log_no_delete'] });
    expect(verifyAudit(dropped).problem).toBe(
      'the append-only trigger audit_log_no_delete is missing: rows can be changed or removed through SQL',
    );

    const altered = logWith(3);
    altered.db.exec(
      'DROP TRIGGER audit_log_no_update; CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END',
    );
    expect(verifyAudit(altered)).toMatchObject({ intact: false, missingTriggers: ['audit_log_no_update'] });
    expect(verifyAudit(altered).problem).toContain('audit_log_no_update is altered');
  });

  it('a kept head catches a database rolled back to an older, self-consistent copy', () => {
    const ctx = logWith(2);
    const backup = ctx.db.serialize();
    for (let i = 0; i < 3; i++)
      appendAudit(ctx, {
        actor: 'alice',
        target: 'bob',
        action: 'lock',
        reason: `later ${i}`,
        outcome: 'ok',
        ip: null,
      });
    const kept = auditHead(ctx);
    expect(kept).toMatchObject({ seq: 5, intact: true });
    appendAudit(ctx, {
      actor: 'alice',
      target: 'bob',
      action: 'unlock',
      reason: 'after the head was mailed',
      outcome: 'ok',
      ip: null,
    });
    expect(verifyAudit(ctx, parseAuditHead(kept.head!))).toMatchObject({ intact: true, rows: 6, keptHead: kept.head });

    const restored = { ...ctx, db: new Database(backup) };
    expect(verifyAudit(restored).intact).toBe(true); // on its own, an older copy is consistent
    const v = verifyAudit(restored, parseAuditHead(kept.head!));
    expect(v).toMatchObject({ intact: false, firstBadRow: 5 });
    expect(v.problem).toContain('row 5 of the kept head is gone');

    const [seq, mac] = kept.head!.split(':');
    const wrong = `${seq}:${mac!.replace(/^./, (c) => (c === '0' ? '1' : '0'))}`;
    expect(verifyAudit(ctx, parseAuditHead(wrong)).problem).toContain('row 5 does not match the kept head');
  });

  it('a malformed --head is refused naming the value', () => {
    for (const bad of ['', '5', '5:abc', '0:' + 'a'.repeat(64), 'x:' + 'a'.repeat(64), '5:' + 'g'.repeat(64)]) {
      const err = (() => {
        try {
          parseAuditHead(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, bad).toBeInstanceOf(InvalidInput);
      expect((err as InvalidInput).message).toContain(`invalid --head "${bad}"`);
    }
    expect(parseAuditHead(`7:${'AB'.repeat(32)}`)).toEqual({ seq: 7, mac: 'ab'.repeat(32) });
  });

  it('verify and head are for admins only', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    expect((await verifyAuditLog(ctx, auth, {})).intact).toBe(true);
    expect(await auditLogHead(ctx, auth, {})).toMatchObject({ head: null, intact: true });
    auth.account.role = 'support';
    await expect(verifyAuditLog(ctx, auth, {})).rejects.toThrow(Forbidden);
    await expect(auditLogHead(ctx, auth, {})).rejects.toThrow(Forbidden);
  });

  it("a plain user's refusals are recorded 5 times in 15 minutes; then they are throttled (exit 6) and nothing is written", async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    auth.account.role = 'user';
    const refusals = () =>
      (ctx.db.prepare("SELECT count(*) AS n FROM audit_log WHERE outcome = 'refused'").get() as { n: number }).n;
    for (let i = 0; i < 5; i++) expect(() => showUser(ctx, auth, 'alice', {})).toThrow(Forbidden);
    for (let i = 0; i < 20; i++) {
      const err = await verifyAuditLog(ctx, auth, {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Throttled);
      expect((err as Throttled).retryAfterSeconds).toBe(15 * 60);
    }
    expect(refusals()).toBe(5);
    ctx.clock.advance(15 * MINUTE);
    expect(() => showUser(ctx, auth, 'alice', {})).toThrow(Forbidden);
    expect(refusals()).toBe(6);
    expect(verifyAudit(ctx).intact).toBe(true);
  });
});

describe('upgrading a database whose audit log was chained with plain SHA-256', () => {
  const migrations = join(import.meta.dirname, '../../src/store/migrations');
  const oldHash = (prev: string, r: unknown[]) =>
    createHash('sha256').update(prev).update('\n').update(JSON.stringify(r)).digest('hex');

  /** A file as the code before migration 009 left it: schema 008, rows chained with SHA-256, the head in meta. */
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function oldDatabase(rows: number, options: { headAfter?: number } = {}): string {
    const dir = mkdtempSync(join(tmpdir(), 'acctsec-audit-'));
    dirs.push(dir);
    const path = join(dir, 'old.db');
    const db = new Database(path);
    for (const file of readdirSync(migrations)
      .filter((f) => /^00[1-8]_/.test(f))
      .sort())
      db.exec(readFileSync(join(migrations, file), 'utf8'));
    db.pragma('user_version = 8');
    let prev = '0'.repeat(64);
    const insert = db.prepare(
      'INSERT INTO audit_log (at, actor, target, action, reason, outcome, ip, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (let i = 1; i <= rows; i++) {
      const fields = [
        Date.parse('2026-01-01T00:00:00Z') + i,
        'alice',
        `u${i}`,
        'lock',
        `old reason ${i}`,
        'ok',
        null,
        null,
      ];
      const hash = oldHash(prev, fields);
      insert.run(...fields, prev, hash);
      if (i === (options.headAfter ?? rows))
        db.prepare("INSERT INTO meta (key, value) VALUES ('audit_head', ?)").run(hash);
      prev = hash;
    }
    db.close();
    return path;
  }

  function upgrade(path: string, ctx: ServiceContext = testContext()): ServiceContext {
    const db = openStore(path, {
      create: false,
      afterMigrate: (migrating, applied) => sealOldAuditRows({ ...ctx, db: migrating }, applied),
    });
    return { ...ctx, db };
  }

  it('seals the old rows with one HMAC row; old and new rows then verify, and an old row rewritten consistently is found', () => {
    const ctx = upgrade(oldDatabase(4));
    const upgraded = ctx.db.prepare('SELECT id, actor, action, chain FROM audit_log WHERE id = 5').get();
    expect(upgraded).toEqual({ id: 5, actor: 'acctsec', action: 'audit.chain-upgraded', chain: 'hmac-sha256' });
    appendAudit(ctx, {
      actor: 'alice',
      target: 'bob',
      action: 'unlock',
      reason: 'after the upgrade',
      outcome: 'ok',
      ip: null,
    });
    expect(verifyAudit(ctx)).toMatchObject({ intact: true, rows: 6, problems: [] });

    // The attack the old chain could not see: row 2 changed and rows 2-4 re-hashed to fit.
    ctx.db.exec('DROP TRIGGER audit_log_no_update');
    let prev = (ctx.db.prepare('SELECT hash FROM audit_log WHERE id = 1').get() as { hash: string }).hash;
    for (let id = 2; id <= 4; id++) {
      const r = ctx.db.prepare('SELECT * FROM audit_log WHERE id = ?').get(id) as Record<string, unknown>;
      const reason = id === 2 ? 'nothing to see' : r.reason;
      const hash = oldHash(prev, [r.at, r.actor, r.target, r.action, reason, r.outcome, r.ip, r.detail]);
      ctx.db
        .prepare('UPDATE audit_log SET reason = ?, prev_hash = ?, hash = ? WHERE id = ?')
        .run(reason, prev, hash, id);
      prev = hash;
    }
    expect(verifyAudit(ctx)).toMatchObject({
      intact: false,
      firstBadRow: 5,
      problem: 'row 5 does not follow row 4: a row before it was removed or changed',
    });
  });

  it('newest rows removed before the upgrade are reported by the upgrade row', () => {
    const ctx = upgrade(oldDatabase(4, { headAfter: 6 }));
    expect(verifyAudit(ctx).problem).toContain("the old chain's stored head did not match its newest row");
  });

  it('without the key the upgrade changes nothing, and says which key is missing', () => {
    const path = oldDatabase(2);
    const keyless: ServiceContext = {
      ...testContext(),
      keyring: {
        key: () => {
          throw new NotFound('the encryption key file /k is missing (or set ACCTSEC_ENCRYPTION_KEY)');
        },
      },
    };
    expect(() => upgrade(path, keyless)).toThrow('the encryption key file /k is missing');
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(8);
    db.close();
    expect(verifyAudit(upgrade(path)).intact).toBe(true);
  });
});

describe('listing accounts', () => {
  it('streams 100,000 accounts a page at a time: the first arrives before the rest are read, and the connection is free between pages', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    ctx.db.transaction(() => {
      for (let i = 0; i < 100_000; i++)
        insertAccount(ctx.db, {
          username: `user${String(i).padStart(6, '0')}`,
          email: `u${i}@example.com`,
          role: 'user',
          passwordHash: '!',
          now: 0,
        });
    })();
    const users = listUsers(ctx, auth, undefined, {});
    const first = await users.next();
    expect(first.value).toMatchObject({ username: 'alice' });
    // Between pages no cursor is left open: a write on the same connection (another request's, on
    // the server) goes through, where an open cursor made it fail as "busy" (issue #19 §3).
    expect(ctx.db.prepare('UPDATE accounts SET email = email WHERE id = 0').run().changes).toBe(0);
    // The event loop turns between pages: a timer set now fires before the listing ends.
    let turned = false;
    setImmediate(() => (turned = true));
    let n = 1;
    let turnedAt = 0;
    for await (const _ of users) {
      n++;
      if (turned && turnedAt === 0) turnedAt = n;
    }
    expect(n).toBe(100_001);
    expect(turnedAt).toBeGreaterThan(0);
    expect(turnedAt).toBeLessThanOrEqual(USERS_PAGE + 2);
  });
});
