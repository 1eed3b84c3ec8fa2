import { describe, expect, it } from 'vitest';
import { AuthFailed, Forbidden } from '../../src/errors.js';
import { createUser, listUsers, recoverWithResetToken, resetPassword, verifyAuditLog } from '../../src/service/admin.js';
import { appendAudit, verifyAudit } from '../../src/service/audit.js';
import { insertAccount } from '../../src/store/accounts.js';
import { HOUR, MINUTE, testContext, withAlice } from './context.js';

describe('reset tokens', () => {
  it('an expired reset token (injected clock) is refused; a new reset voids the earlier token', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const created = await createUser(ctx, auth, { username: 'uma', email: 'uma@example.com', reason: 'new hire', printToken: true }, {});
    ctx.clock.advance(HOUR + MINUTE);
    await expect(recoverWithResetToken(ctx, { username: 'uma', token: created.resetToken!, newPassword: 'a fresh start passphrase' }, {})).rejects.toBeInstanceOf(AuthFailed);
    const first = await resetPassword(ctx, auth, 'uma', { reason: 'try again', printToken: true }, {});
    const second = await resetPassword(ctx, auth, 'uma', { reason: 'and again', printToken: true }, {});
    await expect(recoverWithResetToken(ctx, { username: 'uma', token: first.resetToken!, newPassword: 'a fresh start passphrase' }, {})).rejects.toBeInstanceOf(AuthFailed);
    await expect(recoverWithResetToken(ctx, { username: 'bob', token: second.resetToken!, newPassword: 'a fresh start passphrase' }, {})).rejects.toBeInstanceOf(AuthFailed);
    expect(await recoverWithResetToken(ctx, { username: 'uma', token: second.resetToken!, newPassword: 'a fresh start passphrase' }, {})).toMatchObject({ username: 'uma' });
  });

  it('a plain user is refused (exit 7), and the refusal is audited', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    auth.account.role = 'user';
    await expect(resetPassword(ctx, auth, 'alice', { reason: 'because' }, {})).rejects.toBeInstanceOf(Forbidden);
    expect(ctx.db.prepare('SELECT actor, action, outcome FROM audit_log').all()).toEqual([{ actor: 'alice', action: 'reset-password', outcome: 'refused' }]);
  });
});

describe('the audit log', () => {
  function logWith(rows: number) {
    const ctx = testContext();
    for (let i = 0; i < rows; i++) appendAudit(ctx, { actor: 'alice', target: `u${i}`, action: 'lock', reason: `reason ${i}`, outcome: 'ok', ip: null });
    return ctx;
  }

  it('holds when untouched, and refuses UPDATE and DELETE through SQL', () => {
    const ctx = logWith(5);
    expect(verifyAudit(ctx)).toEqual({ intact: true, rows: 5, firstBadRow: null, problem: null });
    expect(() => ctx.db.prepare("UPDATE audit_log SET reason = 'x' WHERE id = 1").run()).toThrow('append-only');
    expect(() => ctx.db.prepare('DELETE FROM audit_log WHERE id = 1').run()).toThrow('append-only');
  });

  it('names the first changed row, a removed row, and removed newest rows', () => {
    const changed = logWith(5);
    changed.db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE id = 3");
    expect(verifyAudit(changed)).toMatchObject({ intact: false, firstBadRow: 3, problem: 'row 3 was changed after it was written' });

    const removed = logWith(5);
    removed.db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = 2');
    expect(verifyAudit(removed)).toMatchObject({ intact: false, firstBadRow: 3 });

    const truncated = logWith(5);
    truncated.db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id >= 4');
    expect(verifyAudit(truncated)).toMatchObject({ intact: false, problem: 'the newest rows after row 3 were removed' });
  });

  it('verify is for admins only', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    expect(verifyAuditLog(ctx, auth, {}).intact).toBe(true);
    auth.account.role = 'support';
    expect(() => verifyAuditLog(ctx, auth, {})).toThrow(Forbidden);
  });
});

describe('listing accounts', () => {
  it('streams 100,000 accounts from a cursor: the first arrives before the rest are read', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    ctx.db.transaction(() => {
      for (let i = 0; i < 100_000; i++) insertAccount(ctx.db, { username: `user${String(i).padStart(6, '0')}`, email: `u${i}@example.com`, role: 'user', passwordHash: '!', now: 0 });
    })();
    const users = listUsers(ctx, auth, undefined, {});
    const first = users.next();
    expect(first.value).toMatchObject({ username: 'alice' });
    // The cursor is still open on the connection: nothing was read ahead into memory (a buffered
    // list would have finished its query and left the connection free).
    expect(() => ctx.db.prepare('UPDATE accounts SET email = email WHERE id = 0').run()).toThrow(/busy/);
    let n = 1;
    for (const _ of users) n++;
    expect(n).toBe(100_001);
  });
});
