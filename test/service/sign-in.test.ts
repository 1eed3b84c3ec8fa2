import { describe, expect, it } from 'vitest';
import { AuthFailed, IdentityRequired, Throttled } from '../../src/errors.js';
import { changeUsername, initialize } from '../../src/service/accounts.js';
import { confirmIdentity } from '../../src/service/identity.js';
import { argon2Hasher } from '../../src/service/password-hashing.js';
import { authenticate } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { delayAfter } from '../../src/service/throttle.js';
import { findAccountByUsername, insertAccount } from '../../src/store/accounts.js';
import { DAY, HOUR, MINUTE, PASSWORD, testContext, withAlice } from './context.js';

describe('sign-in (SPEC §2)', () => {
  it('the delay grows after five failures and is capped at an hour', () => {
    expect([0, 4].map((n) => delayAfter(n))).toEqual([0, 0]);
    expect([5, 6, 7].map((n) => delayAfter(n))).toEqual([30_000, 60_000, 120_000]);
    expect(delayAfter(40)).toBe(3_600_000);
  });

  it('throttles after five failures, and lets the user in again once the delay has passed', async () => {
    const ctx = testContext();
    await withAlice(ctx);
    for (let i = 0; i < 5; i++)
      await expect(signIn(ctx, { username: 'alice', password: `wrong ${i}` }, {})).rejects.toThrow(AuthFailed);
    const err = await signIn(ctx, { username: 'alice', password: PASSWORD }, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Throttled);
    expect((err as Throttled).retryAfterSeconds).toBe(30);
    ctx.clock.advance(31_000);
    const ok = await signIn(ctx, { username: 'alice', password: PASSWORD }, {});
    expect(ok.status).toBe('signed-in');
  });

  it('upgrades a hash made with weaker argon2 parameters at the next sign-in (test uses low cost on purpose)', async () => {
    const weak = testContext({ hasher: argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }) });
    await withAlice(weak);
    expect(findAccountByUsername(weak.db, 'alice')!.password_hash).toMatch(/m=8192,t=1,p=1\$/);
    const strong = { ...weak, hasher: argon2Hasher() };
    await signIn(strong, { username: 'alice', password: PASSWORD }, {});
    const upgraded = findAccountByUsername(weak.db, 'alice')!.password_hash;
    // and only once: a current hash is left alone
    await signIn(strong, { username: 'alice', password: PASSWORD }, {});
    expect(findAccountByUsername(weak.db, 'alice')!.password_hash).toBe(upgraded);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await signIn(strong, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
  });

  it('hashes with argon2id at m >= 19456 KiB, t >= 2 by default', async () => {
    const ctx = testContext({ hasher: argon2Hasher() });
    await withAlice(ctx);
    expect(findAccountByUsername(ctx.db, 'alice')!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('never truncates: a 256-character password differs from the same with its last character changed', async () => {
    const ctx = testContext();
    const long = 'p'.repeat(120) + 'q'.repeat(135) + 'r';
    await initialize(ctx, { username: 'alice', email: 'a@example.com', password: long }, {});
    await expect(signIn(ctx, { username: 'alice', password: long.slice(0, 255) + 's' }, {})).rejects.toThrow(
      AuthFailed,
    );
    expect((await signIn(ctx, { username: 'alice', password: long }, {})).status).toBe('signed-in');
  });
});

describe('sessions', () => {
  it('end after 24 h idle', async () => {
    const ctx = testContext();
    const { token } = await withAlice(ctx);
    ctx.clock.advance(23 * HOUR);
    authenticate(ctx, token);
    ctx.clock.advance(23 * HOUR);
    authenticate(ctx, token); // used within 24 h: still alive
    ctx.clock.advance(24 * HOUR + MINUTE);
    expect(() => authenticate(ctx, token)).toThrow(/expired/);
  });

  it('end after 14 days whatever their use', async () => {
    const ctx = testContext();
    const { token } = await withAlice(ctx);
    for (let d = 0; d < 13; d++) {
      ctx.clock.advance(DAY - HOUR);
      authenticate(ctx, token);
    }
    ctx.clock.advance(2 * DAY);
    expect(() => authenticate(ctx, token)).toThrow(/expired/);
  });

  it('store only a hash of the token', async () => {
    const ctx = testContext();
    const { token } = await withAlice(ctx);
    const rows = ctx.db.prepare('SELECT * FROM sessions').all();
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows)).not.toContain(token.slice(8));
  });
});

describe('identity confirmation (SPEC §2)', () => {
  it('needs no proof within 10 minutes of sign-in, then the password, which reopens the window', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await confirmIdentity(ctx, auth, undefined, {});
    ctx.clock.advance(10 * MINUTE + 1);
    await expect(confirmIdentity(ctx, auth, undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    await expect(confirmIdentity(ctx, auth, { password: 'not it at all' }, {})).rejects.toThrow('wrong password');
    await confirmIdentity(ctx, auth, { password: PASSWORD }, {});
    ctx.clock.advance(9 * MINUTE);
    await confirmIdentity(ctx, auth, undefined, {});
  });

  it('`always` ignores the window (MFA and recovery-code changes)', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await expect(confirmIdentity(ctx, auth, undefined, {}, { always: true })).rejects.toBeInstanceOf(IdentityRequired);
  });

  it("wrong passwords at confirmation fill the session's own throttle, never the sign-in's (issue #15)", async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    ctx.clock.advance(HOUR);
    for (let i = 0; i < 5; i++)
      await expect(confirmIdentity(ctx, auth, { password: `nope ${i}` }, {})).rejects.toThrow(AuthFailed);
    await expect(confirmIdentity(ctx, auth, { password: PASSWORD }, {})).rejects.toThrow(Throttled);
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
  });

  it('username change outside the window needs the password; a taken name is a conflict', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    insertAccount(ctx.db, {
      username: 'bob',
      email: 'bob@example.com',
      role: 'user',
      passwordHash: 'x',
      now: ctx.now(),
    });
    await expect(changeUsername(ctx, auth, 'bob', undefined, {})).rejects.toThrow(/taken/);
    ctx.clock.advance(HOUR);
    await expect(changeUsername(ctx, auth, 'alice2', undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    expect(await changeUsername(ctx, auth, 'alice2', { password: PASSWORD }, {})).toEqual({
      username: 'alice2',
      previous: 'alice',
    });
  });
});
