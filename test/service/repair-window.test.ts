import { describe, expect, it } from 'vitest';
import { AuthFailed, IdentityRequired } from '../../src/errors.js';
import { initialize } from '../../src/service/accounts.js';
import { accountActivity } from '../../src/service/activity.js';
import type { ServiceContext } from '../../src/service/context.js';
import { deviceOf, rememberSignInSource } from '../../src/service/known-sign-ins.js';
import { REPAIR_WINDOW_MS, repairWindowUntil } from '../../src/service/repair-window.js';
import { authenticate } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { authenticateAccessToken, createToken } from '../../src/service/tokens.js';
import { beginTotpEnrollment, confirmTotpEnrollment, disableTotp, totpCode } from '../../src/service/totp.js';
import { findAccountByUsername } from '../../src/store/accounts.js';
import { base32Decode } from '../rfc6238.js';
import { register } from './key-ceremonies.js';
import { removeKey } from '../../src/service/security-keys.js';
import { DAY, MINUTE, PASSWORD, testContext, withAlice } from './context.js';

// Issue #20 §2 (the repair window) and §4 (sign-ins from a new device or address), at the service.

async function aliceWithTotp(ctx: ReturnType<typeof testContext>) {
  const { auth } = await withAlice(ctx);
  const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
  const { recoveryCodes } = await confirmTotpEnrollment(ctx, auth, totpCode(base32Decode(e.secret), ctx.now()), {});
  ctx.clock.advance(30_000);
  return { auth, secret: e.secret, recoveryCodes };
}

async function recoverySignIn(ctx: ServiceContext, code: string) {
  const r = await signIn(
    ctx,
    { username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code } },
    {},
  );
  if (r.status !== 'signed-in') throw new Error(r.status);
  return { result: r, auth: authenticate(ctx, r.session.token) };
}

describe('the repair window (issue #20 §2)', () => {
  it('is opened by a recovery-code sign-in only, for 10 minutes', async () => {
    const ctx = testContext();
    const { recoveryCodes, secret } = await aliceWithTotp(ctx);
    const { result, auth } = await recoverySignIn(ctx, recoveryCodes[0]!);
    expect(result.repairWindowUntil).toBe(new Date(ctx.now() + REPAIR_WINDOW_MS).toISOString());
    expect(repairWindowUntil(ctx, auth)).toBe(result.repairWindowUntil);
    ctx.clock.advance(REPAIR_WINDOW_MS - 1);
    expect(repairWindowUntil(ctx, authenticate(ctx, result.session.token))).not.toBeNull();
    ctx.clock.advance(1);
    expect(repairWindowUntil(ctx, authenticate(ctx, result.session.token))).toBeNull();
    const normal = await signIn(
      ctx,
      {
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'totp', code: totpCode(base32Decode(secret), ctx.now()) },
      },
      {},
    );
    expect(normal.status === 'signed-in' && normal.repairWindowUntil).toBeUndefined();
  });

  it('cannot outlive 10 minutes after the sign-in, even if the column says later', async () => {
    const ctx = testContext();
    const { recoveryCodes } = await aliceWithTotp(ctx);
    const { result } = await recoverySignIn(ctx, recoveryCodes[0]!);
    ctx.db.prepare('UPDATE sessions SET repair_until = ? WHERE id = ?').run(ctx.now() + DAY, result.session.sessionId);
    ctx.clock.advance(REPAIR_WINDOW_MS);
    const auth = authenticate(ctx, result.session.token);
    expect(repairWindowUntil(ctx, auth)).toBeNull();
    await expect(disableTotp(ctx, auth, '', true, {})).rejects.toThrow(AuthFailed);
  });

  it('is set once: a second write does not move it', async () => {
    const ctx = testContext();
    const { recoveryCodes } = await aliceWithTotp(ctx);
    const { result } = await recoverySignIn(ctx, recoveryCodes[0]!);
    const { openSessionRepairWindow } = await import('../../src/store/repair-window.js');
    expect(openSessionRepairWindow(ctx.db, result.session.sessionId, ctx.now() + DAY)).toBe(false);
  });

  it('is never open for a personal access token, even one made in the window', async () => {
    const ctx = testContext();
    const { recoveryCodes } = await aliceWithTotp(ctx);
    const { auth } = await recoverySignIn(ctx, recoveryCodes[0]!);
    const t = await createToken(ctx, auth, { name: 'ci', scopes: ['dns:read'], resources: [] }, undefined, {});
    const viaToken = authenticateAccessToken(ctx, t.token);
    expect(repairWindowUntil(ctx, viaToken)).toBeNull();
    await expect(disableTotp(ctx, viaToken, '', true, {})).rejects.toThrow(AuthFailed);
  });

  it('lets the lost app go without its code, logged and notified as done in the window', async () => {
    const ctx = testContext();
    const { recoveryCodes } = await aliceWithTotp(ctx);
    const { auth } = await recoverySignIn(ctx, recoveryCodes[0]!);
    await expect(disableTotp(ctx, auth, '', true, {})).resolves.toEqual({ disabled: true, remainingMethods: [] });
    const log = accountActivity(ctx, auth.account.id, 10);
    expect(log.find((e) => e.event === 'mfa.totp.disabled')?.detail).toEqual({
      remainingMethods: [],
      repairWindow: true,
    });
    // With no factor left, enrolling again asks for the password, as outside the window.
    await expect(beginTotpEnrollment(ctx, auth, undefined, {})).rejects.toThrow(IdentityRequired);
  });
});

describe('the repair window and security keys (issue #20 §2)', () => {
  it('a lost key is removed and a new one added without a key assertion; outside the window one is asked', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { added } = await register(ctx, auth, 'lost');
    const codes = added.recoveryCodes!;
    ctx.clock.advance(11 * MINUTE);
    await expect(removeKey(ctx, auth, 'lost', true, undefined, {})).rejects.toThrow(IdentityRequired);
    const { auth: repairing } = await recoverySignIn(ctx, codes[0]!);
    // Another key first, while the lost one is still registered: the window stands for its assertion.
    await register(ctx, repairing, 'new', undefined, {});
    await expect(removeKey(ctx, repairing, 'lost', false, undefined, {})).resolves.toEqual({
      removed: 'lost',
      remainingMethods: ['key'],
    });
    const log = accountActivity(ctx, repairing.account.id, 20);
    expect(log.find((e) => e.event === 'mfa.key.removed')?.detail).toMatchObject({ repairWindow: true });
    expect(log.find((e) => e.event === 'mfa.key.added')?.detail).toMatchObject({ name: 'new', repairWindow: true });
  });
});

describe('sign-ins from a new device or address (issue #20 §4)', () => {
  it('takes version numbers out of the client: an upgrade is the same device', () => {
    expect(deviceOf('acctsec/1.4.0 on laptop (profile work)')).toBe(deviceOf('acctsec/1.5.2 on laptop (profile work)'));
    expect(deviceOf('acctsec/1.4.0 on laptop (profile work)')).not.toBe(
      deviceOf('acctsec/1.4.0 on desk (profile work)'),
    );
    expect(deviceOf(undefined)).toBeNull();
  });

  it("records an account's first sign-in without calling it new; later ones from elsewhere are", async () => {
    const ctx = testContext();
    // No client and no address at init: nothing is known yet.
    await initialize(ctx, { username: 'alice', email: 'alice@example.com', password: PASSWORD }, {});
    const alice = findAccountByUsername(ctx.db, 'alice')!;
    expect(rememberSignInSource(ctx, alice, { client: 'cli on laptop', ip: '203.0.113.5' })).toBeNull();
    expect(rememberSignInSource(ctx, alice, { client: 'cli on laptop', ip: '203.0.113.5' })).toEqual({
      device: false,
      address: false,
    });
    expect(rememberSignInSource(ctx, alice, { client: 'cli on laptop', ip: '198.51.100.7' })).toEqual({
      device: false,
      address: true,
    });
  });

  it('keeps keyed hashes, not the values, and prunes what was not seen for 90 days', async () => {
    const ctx = testContext();
    await withAlice(ctx);
    const alice = findAccountByUsername(ctx.db, 'alice')!;
    rememberSignInSource(ctx, alice, { client: 'cli on laptop', ip: '203.0.113.5' });
    ctx.clock.advance(30 * DAY);
    rememberSignInSource(ctx, alice, { client: 'cli on desk' });
    const dump = JSON.stringify(ctx.db.prepare('SELECT * FROM known_sign_ins').all());
    expect(dump).not.toContain('laptop');
    expect(dump).not.toContain('203.0.113.5');
    expect(ctx.db.prepare('SELECT count(*) AS n FROM known_sign_ins').get()).toEqual({ n: 3 });
    ctx.clock.advance(91 * DAY);
    // Everything is older than 90 days: the laptop is new again, and only its fresh row is left.
    expect(rememberSignInSource(ctx, alice, { client: 'cli on laptop' })).toEqual({ device: true, address: false });
    expect(ctx.db.prepare('SELECT count(*) AS n FROM known_sign_ins').get()).toEqual({ n: 1 });
  });

  it('sends the notice after the answer, not during sign-in', async () => {
    const ctx = testContext();
    await withAlice(ctx);
    const sent: string[] = [];
    ctx.mailer = {
      send: () => Promise.reject(new Error('not used')),
      notify: (m) => {
        sent.push(m.subject);
        return Promise.resolve();
      },
    };
    // The account's first sign-in: known from now on, no notice.
    await signIn(ctx, { username: 'alice', password: PASSWORD, client: 'laptop' }, {});
    await signIn(ctx, { username: 'alice', password: PASSWORD, client: 'a browser' }, { ip: '203.0.113.9' });
    expect(sent).toEqual([]);
    await ctx.background.settled();
    expect(sent).toEqual([
      'acctsec security notice: a sign-in from a new device (a browser) and a new address (203.0.113.9), not seen on your account in the last 90 days',
    ]);
  });
});
