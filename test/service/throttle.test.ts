import { describe, expect, it } from 'vitest';
import { AuthFailed, Conflict, Forbidden, Throttled } from '../../src/errors.js';
import { unthrottleUser } from '../../src/service/admin.js';
import { confirmIdentity } from '../../src/service/identity.js';
import { argon2Hasher, type PasswordHasher } from '../../src/service/password-hashing.js';
import { recoverWithCode } from '../../src/service/recovery-emails.js';
import { authenticate } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { ACCOUNT_FREE_FAILURES, MAX_IN_FLIGHT } from '../../src/service/throttle.js';
import { beginTotpEnrollment, confirmTotpEnrollment } from '../../src/service/totp.js';
import { insertAccount } from '../../src/store/accounts.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { HOUR, MINUTE, PASSWORD, testContext, withAlice } from './context.js';

// Issue #15 §1: throttles an outsider cannot fill.

/** The real argon2 hasher, counting the hashes running at once. */
function countingHasher(inner: PasswordHasher): PasswordHasher & { running: number; peak: number; calls: number } {
  const counter = {
    params: inner.params,
    running: 0,
    peak: 0,
    calls: 0,
    needsRehash: (hash: string) => inner.needsRehash(hash),
    async hash(password: string) {
      return counted(() => inner.hash(password));
    },
    async verify(hash: string, password: string) {
      return counted(() => inner.verify(hash, password));
    },
  };
  async function counted<T>(work: () => Promise<T>): Promise<T> {
    counter.calls++;
    counter.peak = Math.max(counter.peak, ++counter.running);
    try {
      return await work();
    } finally {
      counter.running--;
    }
  }
  return counter;
}

async function aliceWithTotp(hasher?: PasswordHasher) {
  const ctx = testContext(hasher ? { hasher } : {});
  const { auth, token } = await withAlice(ctx);
  const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
  const key = base32Decode(e.secret);
  const code = (offsetSteps = 0) => hotp(key, Math.floor(ctx.now() / 30_000) + offsetSteps);
  await confirmTotpEnrollment(ctx, auth, code(), {});
  ctx.clock.advance(MINUTE);
  return { ctx, auth, token, code };
}

const wrongCode = (right: string) => String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');

describe('one throttle per flow (issue #15)', () => {
  it("wrong recovery codes, with no password, fill recovery's throttle only: sign-in with a valid authenticator code still works", async () => {
    const { ctx, code } = await aliceWithTotp();
    for (let i = 0; i < 5; i++) {
      await expect(
        recoverWithCode(ctx, { username: 'alice', code: '000000', newPassword: 'a brand new passphrase' }, {}),
      ).rejects.toBeInstanceOf(AuthFailed);
    }
    await expect(
      recoverWithCode(ctx, { username: 'alice', code: '000000', newPassword: 'a brand new passphrase' }, {}),
    ).rejects.toBeInstanceOf(Throttled);
    const r = await signIn(
      ctx,
      { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: code() } },
      {},
    );
    expect(r.status).toBe('signed-in');
  });

  it("wrong codes at identity confirmation fill that session's throttle only: sign-in and other sessions are not held back", async () => {
    const { ctx, auth, code } = await aliceWithTotp();
    ctx.clock.advance(HOUR); // outside the 10-minute window
    for (let i = 0; i < 5; i++) {
      await expect(
        confirmIdentity(ctx, auth, { secondFactor: { method: 'totp', code: wrongCode(code()) } }, {}),
      ).rejects.toBeInstanceOf(AuthFailed);
    }
    await expect(
      confirmIdentity(ctx, auth, { secondFactor: { method: 'totp', code: code() } }, {}),
    ).rejects.toBeInstanceOf(Throttled);
    const other = await signIn(
      ctx,
      { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: code() } },
      {},
    );
    expect(other.status).toBe('signed-in');
    const otherAuth = authenticate(ctx, (other as { session: { token: string } }).session.token);
    ctx.clock.advance(HOUR);
    await confirmIdentity(ctx, otherAuth, { secondFactor: { method: 'totp', code: code() } }, {});
  });

  it('wrong second-factor codes at sign-in (after the right password) do not block recovery or confirmation', async () => {
    const { ctx, auth, code } = await aliceWithTotp();
    for (let i = 0; i < 5; i++) {
      await expect(
        signIn(
          ctx,
          { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: wrongCode(code()) } },
          {},
        ),
      ).rejects.toBeInstanceOf(AuthFailed);
    }
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: code() } }, {}),
    ).rejects.toBeInstanceOf(Throttled);
    ctx.clock.advance(HOUR);
    await confirmIdentity(ctx, auth, { secondFactor: { method: 'totp', code: code() } }, {});
  });
});

describe('parallel attempts (issue #15)', () => {
  it('40 parallel right-password sign-ins all succeed (real argon2 at low cost, on purpose: 40 hashes)', async () => {
    const hasher = countingHasher(argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }));
    const ctx = testContext({ hasher });
    await withAlice(ctx);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => signIn(ctx, { username: 'alice', password: PASSWORD }, {})),
    );
    expect(results.filter((r) => r.status === 'rejected').map((r) => String(r.reason))).toEqual([]);
    expect(hasher.peak).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  });

  it('200 parallel wrong passwords run at most MAX_IN_FLIGHT argon2 hashes at once and trip the limit after exactly 5 failures (real argon2 at low cost, on purpose)', async () => {
    const hasher = countingHasher(argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }));
    const ctx = testContext({ hasher });
    await withAlice(ctx);
    const calls = hasher.calls;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => signIn(ctx, { username: 'alice', password: `wrong guess ${i}` }, {})),
    );
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason as Error);
    expect(reasons.filter((e) => e instanceof AuthFailed)).toHaveLength(5);
    expect(reasons.filter((e) => e instanceof Throttled)).toHaveLength(195);
    expect(hasher.peak).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(hasher.calls - calls).toBe(5);
    await expect(signIn(ctx, { username: 'alice', password: PASSWORD }, {})).rejects.toBeInstanceOf(Throttled);
  });

  it('the same for an unknown username: five checks complete, the rest are refused', async () => {
    const hasher = countingHasher(argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }));
    const ctx = testContext({ hasher });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => signIn(ctx, { username: 'nobody', password: `guess ${i}` }, {})),
    );
    expect(results.filter((r) => (r as PromiseRejectedResult).reason instanceof AuthFailed)).toHaveLength(5);
    expect(hasher.peak).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  });
});

describe('throttle rows expire (issue #15)', () => {
  it('over the network a guesser delays only their own address group: the owner signs in from elsewhere, support clears the rest (real argon2 at low cost, on purpose)', async () => {
    const ctx = testContext({ hasher: argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }) });
    const { auth } = await withAlice(ctx);
    const from = (ip: string, password: string) => signIn(ctx, { username: 'alice', password }, { ip });
    for (let i = 0; i < 5; i++) await expect(from('198.51.100.7', `wrong ${i}`)).rejects.toBeInstanceOf(AuthFailed);
    await expect(from('198.51.100.7', PASSWORD)).rejects.toBeInstanceOf(Throttled);
    expect((await from('203.0.113.9', PASSWORD)).status).toBe('signed-in');
    // IPv6 by /64: another address of the guesser's /64 is the same group, the next /64 is not.
    for (let i = 1; i <= 5; i++) await expect(from(`2001:db8::${i}`, `wrong ${i}`)).rejects.toBeInstanceOf(AuthFailed);
    await expect(from('2001:db8::99', PASSWORD)).rejects.toBeInstanceOf(Throttled);
    expect((await from('2001:db8:0:1::1', PASSWORD)).status).toBe('signed-in');
    // Guesses spread over many addresses still meet an account-wide bound (ACCOUNT_FREE_FAILURES).
    for (let i = 0; i < ACCOUNT_FREE_FAILURES; i++)
      await expect(from(`192.0.2.${i + 1}`, `wrong ${i}`)).rejects.toBeInstanceOf(AuthFailed);
    await expect(from('203.0.113.200', PASSWORD)).rejects.toBeInstanceOf(Throttled);
    // The way back: support clears every count of the account, per address group and account-wide.
    await unthrottleUser(ctx, auth, 'alice', { reason: 'a botnet guessed', dryRun: false }, {});
    expect((await from('198.51.100.7', PASSWORD)).status).toBe('signed-in');
    expect((await from('203.0.113.200', PASSWORD)).status).toBe('signed-in');
  });

  it('recovery is counted the same way: wrong codes from one address do not hold back recovery from another', async () => {
    const ctx = testContext();
    await withAlice(ctx);
    const attempt = (ip: string) =>
      recoverWithCode(ctx, { username: 'alice', code: '000000', newPassword: 'another long passphrase' }, { ip });
    for (let i = 0; i < 5; i++) await expect(attempt('198.51.100.7')).rejects.toBeInstanceOf(AuthFailed);
    await expect(attempt('198.51.100.7')).rejects.toBeInstanceOf(Throttled);
    await expect(attempt('203.0.113.9')).rejects.toBeInstanceOf(AuthFailed); // judged, not throttled
  });

  it('rows whose last failure is older than the longest delay are deleted by a later write', async () => {
    const ctx = testContext({ hasher: argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }) }); // low cost on purpose: 21 hashes
    for (let i = 0; i < 20; i++)
      await expect(signIn(ctx, { username: `ghost${i}`, password: 'some guess here' }, {})).rejects.toBeInstanceOf(
        AuthFailed,
      );
    const count = () => (ctx.db.prepare('SELECT count(*) AS n FROM throttles').get() as { n: number }).n;
    expect(count()).toBe(20);
    ctx.clock.advance(HOUR + MINUTE);
    await expect(signIn(ctx, { username: 'someone', password: 'some guess here' }, {})).rejects.toBeInstanceOf(
      AuthFailed,
    );
    expect(count()).toBe(1);
  });
});

describe('a throttled guesser costs no writes', () => {
  it('a sign-in refused by a running delay takes no write lock, and is logged once a minute per address, not per request', async () => {
    const ctx = testContext();
    await withAlice(ctx);
    const from = (ip: string) => signIn(ctx, { username: 'alice', password: 'a wrong guess' }, { ip });
    for (let i = 0; i < 5; i++) await expect(from('198.51.100.7')).rejects.toBeInstanceOf(AuthFailed);
    const throttledRows = () =>
      ctx.db.prepare("SELECT count(*) FROM activity WHERE event = 'signin.throttled'").pluck().get() as number;
    await expect(from('198.51.100.7')).rejects.toBeInstanceOf(Throttled);
    expect(throttledRows()).toBe(1);
    // Count the transactions (on PostgreSQL each takes the writers' lock shared by every instance).
    const real = ctx.db.transaction.bind(ctx.db);
    let transactions = 0;
    ctx.db.transaction = ((fn: (...a: unknown[]) => unknown) => {
      transactions++;
      return real(fn);
    }) as typeof ctx.db.transaction;
    for (let i = 0; i < 20; i++) await expect(from('198.51.100.7')).rejects.toBeInstanceOf(Throttled);
    expect(transactions).toBe(0);
    expect(throttledRows()).toBe(1);
    ctx.db.transaction = real;
    // Another address's refusal is its own line; the first address gets another line a minute later.
    for (let i = 0; i < 5; i++) await expect(from('203.0.113.9')).rejects.toBeInstanceOf(AuthFailed);
    await expect(from('203.0.113.9')).rejects.toBeInstanceOf(Throttled);
    expect(throttledRows()).toBe(2);
    // 31 s on, the first delay is over: one more wrong guess starts a 60 s delay, refused but not logged
    // again within the minute; logged again once the minute is over.
    ctx.clock.advance(31_000);
    await expect(from('198.51.100.7')).rejects.toBeInstanceOf(AuthFailed);
    await expect(from('198.51.100.7')).rejects.toBeInstanceOf(Throttled);
    expect(throttledRows()).toBe(2);
    ctx.clock.advance(30_000);
    await expect(from('198.51.100.7')).rejects.toBeInstanceOf(Throttled);
    expect(throttledRows()).toBe(3);
  });
});

describe('admin unthrottle (issue #15)', () => {
  async function throttledAlice() {
    const t = await aliceWithTotp();
    insertAccount(t.ctx.db, {
      username: 'sam',
      email: 'sam@example.com',
      role: 'support',
      passwordHash: 'x',
      now: t.ctx.now(),
    });
    for (let i = 0; i < 5; i++)
      await expect(signIn(t.ctx, { username: 'alice', password: `wrong ${i} guess` }, {})).rejects.toBeInstanceOf(
        AuthFailed,
      );
    for (let i = 0; i < 5; i++)
      await expect(
        recoverWithCode(t.ctx, { username: 'alice', code: '000000', newPassword: 'a brand new passphrase' }, {}),
      ).rejects.toBeInstanceOf(AuthFailed);
    return t;
  }

  it('clears every throttle of the account, audited, with a dry run that changes nothing', async () => {
    const { ctx, auth, code } = await throttledAlice();
    const dry = await unthrottleUser(ctx, auth, 'alice', { reason: 'locked out by guessing', dryRun: true }, {});
    expect(dry).toMatchObject({
      action: 'unthrottle',
      dryRun: true,
      changes: [expect.stringMatching(/^clear 2 throttles/)],
    });
    await expect(signIn(ctx, { username: 'alice', password: PASSWORD }, {})).rejects.toBeInstanceOf(Throttled);
    expect(await unthrottleUser(ctx, auth, 'alice', { reason: 'locked out by guessing' }, {})).toMatchObject({
      dryRun: false,
    });
    expect(
      (await signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: code() } }, {}))
        .status,
    ).toBe('signed-in');
    expect(
      ctx.db.prepare("SELECT actor, target, action, outcome FROM audit_log WHERE action = 'unthrottle'").all(),
    ).toEqual([{ actor: 'alice', target: 'alice', action: 'unthrottle', outcome: 'ok' }]);
    await expect(unthrottleUser(ctx, auth, 'alice', { reason: 'again' }, {})).rejects.toBeInstanceOf(Conflict);
    // recovery is open again too: a wrong code is just wrong, not throttled
    await expect(
      recoverWithCode(ctx, { username: 'alice', code: '000000', newPassword: 'a brand new passphrase' }, {}),
    ).rejects.toBeInstanceOf(AuthFailed);
  });

  it('support may not unthrottle an admin', async () => {
    const { ctx, auth } = await throttledAlice();
    const support = { ...auth, account: { ...auth.account, username: 'sam', role: 'support' as const } };
    await expect(unthrottleUser(ctx, support, 'alice', { reason: 'asked nicely' }, {})).rejects.toBeInstanceOf(
      Forbidden,
    );
    expect(ctx.db.prepare("SELECT outcome FROM audit_log WHERE action = 'unthrottle'").all()).toEqual([
      { outcome: 'refused' },
    ]);
  });
});
