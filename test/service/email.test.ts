import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthFailed,
  Conflict,
  Forbidden,
  IdentityRequired,
  InvalidInput,
  Throttled,
  Unavailable,
} from '../../src/errors.js';
import { createMailer, DEFAULT_FROM, type Delivery } from '../../src/mail/mailer.js';
import { accountStatus, changePassword } from '../../src/service/accounts.js';
import { beginEmailMfa, confirmEmailMfa, disableEmailMfa, resendEmailMfa } from '../../src/service/email-mfa.js';
import {
  notificationSettings,
  setMailFormat,
  setNewsletters,
  setOrganization,
} from '../../src/service/notifications.js';
import {
  addRecoveryEmail,
  confirmRecoveryEmail,
  recoverWithCode,
  RECOVERY_SENT,
  sendRecoveryCode,
} from '../../src/service/recovery-emails.js';
import { mfaOverview, sendFactorCode } from '../../src/service/second-factors.js';
import { adminAddOrgMember, adminCreateOrg } from '../../src/service/orgs.js';
import { authenticate } from '../../src/service/sessions.js';
import { sendSignInCode, signIn } from '../../src/service/sign-in.js';
import { createToken } from '../../src/service/tokens.js';
import { beginTotpEnrollment, confirmTotpEnrollment } from '../../src/service/totp.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { TestSmtp } from '../smtp.js';
import { MINUTE, PASSWORD, testContext, withAlice } from './context.js';

const ALICE = 'alice@example.com';
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await TestSmtp.start();
});
afterAll(() => smtp.stop());

/** A service context whose mail goes to the loopback SMTP server. */
async function setup() {
  const deliveries: Delivery[] = [];
  const ctx = testContext({
    mailer: createMailer({
      smtp: smtp.url(),
      from: DEFAULT_FROM,
      outboxDir: '/nonexistent',
      onDelivery: (d) => deliveries.push(d),
    }),
  });
  const { auth, token } = await withAlice(ctx);
  return { ctx, auth, token, deliveries, mark: smtp.messages.length };
}

async function enabledEmail() {
  const s = await setup();
  await beginEmailMfa(s.ctx, s.auth, { password: PASSWORD }, {});
  await confirmEmailMfa(s.ctx, s.auth, await smtp.code(ALICE, s.mark), {});
  s.ctx.clock.advance(MINUTE + 1000);
  return s;
}

describe('email codes as a second factor (SPEC §4.2)', () => {
  it('enable: password (no other method), a code by SMTP, then active with the address in mfa status', async () => {
    const { ctx, auth, mark, deliveries } = await setup();
    await expect(beginEmailMfa(ctx, auth, undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    const sent = await beginEmailMfa(ctx, auth, { password: PASSWORD }, {});
    expect(sent.sentTo).toBe('a***@example.com');
    expect(sent.notices?.[0]).toContain('NIST SP 800-63B rev 4 does not count email');
    expect(deliveries.at(-1)).toMatchObject({ via: 'smtp', to: [ALICE] });
    await confirmEmailMfa(ctx, auth, await smtp.code(ALICE, mark), {});
    expect(mfaOverview(ctx, auth.account).methods.find((m) => m.type === 'email')).toMatchObject({
      type: 'email',
      enabled: true,
      address: ALICE,
    });
    await expect(beginEmailMfa(ctx, auth, { password: PASSWORD }, {})).rejects.toBeInstanceOf(Conflict);
  });

  it('with the authenticator active, enabling needs an authenticator code, not the password', async () => {
    const { ctx, auth, mark } = await setup();
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    await confirmTotpEnrollment(ctx, auth, hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000)), {});
    ctx.clock.advance(60_000);
    const err = (await beginEmailMfa(ctx, auth, { password: PASSWORD }, {}).catch(
      (x: unknown) => x,
    )) as IdentityRequired;
    expect(err).toBeInstanceOf(IdentityRequired);
    expect(err.accepts).toEqual({ password: false, methods: ['totp'] });
    const sent = await beginEmailMfa(
      ctx,
      auth,
      { secondFactor: { method: 'totp', code: hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000)) } },
      {},
    );
    expect(sent.sentTo).toBe('a***@example.com');
    await confirmEmailMfa(ctx, auth, await smtp.code(ALICE, mark + 1), {});
  });

  it('resend is refused within 60 s (exit 6 saying how long), then a new code voids the previous one', async () => {
    const { ctx, auth, mark } = await setup();
    await beginEmailMfa(ctx, auth, { password: PASSWORD }, {});
    const first = await smtp.code(ALICE, mark);
    ctx.clock.advance(20_000);
    const err = (await resendEmailMfa(ctx, auth, {}).catch((x: unknown) => x)) as Throttled;
    expect(err).toBeInstanceOf(Throttled);
    expect(err.retryAfterSeconds).toBe(40);
    expect(err.message).toContain('40 s');
    ctx.clock.advance(41_000);
    await resendEmailMfa(ctx, auth, {});
    const second = await smtp.code(ALICE, mark + 1);
    if (first !== second) await expect(confirmEmailMfa(ctx, auth, first, {})).rejects.toBeInstanceOf(AuthFailed);
    await confirmEmailMfa(ctx, auth, second, {});
  });

  it('the 60 s wait holds only while a code is outstanding: after it was used, a new one is sent at once (issue #17)', async () => {
    const { ctx, mark } = await enabledEmail();
    await sendSignInCode(ctx, { username: 'alice', password: PASSWORD, method: 'email' }, {});
    const code = await smtp.code(ALICE, mark + 1);
    const r = await signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'email', code } }, {});
    expect(r.status).toBe('signed-in');
    // Signed out and in again within the minute: the used code is not "still on its way".
    ctx.clock.advance(10_000);
    await sendSignInCode(ctx, { username: 'alice', password: PASSWORD, method: 'email' }, {});
    const next = await smtp.code(ALICE, mark + 2);
    // An outstanding code still holds the next send back.
    const err = (await sendSignInCode(ctx, { username: 'alice', password: PASSWORD, method: 'email' }, {}).catch(
      (x: unknown) => x,
    )) as Throttled;
    expect(err).toBeInstanceOf(Throttled);
    expect(err.message).toContain('still on its way');
    expect(
      (await signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'email', code: next } }, {}))
        .status,
    ).toBe('signed-in');
  });

  it('a code expires after 10 minutes', async () => {
    const { ctx, auth, mark } = await setup();
    await beginEmailMfa(ctx, auth, { password: PASSWORD }, {});
    const code = await smtp.code(ALICE, mark);
    ctx.clock.advance(10 * MINUTE + 1);
    await expect(confirmEmailMfa(ctx, auth, code, {})).rejects.toThrow(/expired/);
  });

  it('5 wrong tries void a code, and a new code does not reset the count', async () => {
    const { ctx, auth, mark } = await setup();
    await beginEmailMfa(ctx, auth, { password: PASSWORD }, {});
    const code = await smtp.code(ALICE, mark);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 3; i++) await expect(confirmEmailMfa(ctx, auth, wrong, {})).rejects.toThrow('wrong code');
    ctx.clock.advance(61_000);
    await resendEmailMfa(ctx, auth, {});
    const next = await smtp.code(ALICE, mark + 1);
    const wrong2 = next === '000000' ? '111111' : '000000';
    await expect(confirmEmailMfa(ctx, auth, wrong2, {})).rejects.toThrow(/^wrong code$/);
    ctx.clock.advance(61_000); // clear of the shared throttle's delay after 5 failures
    await expect(confirmEmailMfa(ctx, auth, wrong2, {})).rejects.toThrow(/after 5 wrong tries the code is void/);
    ctx.clock.advance(61_000);
    await expect(confirmEmailMfa(ctx, auth, next, {})).rejects.toThrow(/expired|used|replaced/);
  });

  it('sign-in: the password, then an emailed code; the code works once', async () => {
    const { ctx, mark } = await enabledEmail();
    const r = await signIn(ctx, { username: 'alice', password: PASSWORD }, {});
    expect(r.status === 'second-factor-required' && r.methods.map((m) => m.id)).toEqual(['email']);
    await expect(
      sendSignInCode(ctx, { username: 'alice', password: 'wrong one entirely', method: 'email' }, {}),
    ).rejects.toBeInstanceOf(AuthFailed);
    await sendSignInCode(ctx, { username: 'alice', password: PASSWORD, method: 'email' }, {});
    const code = await smtp.code(ALICE, mark + 2);
    const ok = await signIn(
      ctx,
      { username: 'alice', password: PASSWORD, secondFactor: { method: 'email', code } },
      {},
    );
    expect(ok.status).toBe('signed-in');
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'email', code } }, {}),
    ).rejects.toBeInstanceOf(AuthFailed);
  });

  it('disable: a code is sent first; the last method needs an explicit yes', async () => {
    const { ctx, auth, mark } = await enabledEmail();
    await sendFactorCode(ctx, auth.account, 'email', {});
    const code = await smtp.code(ALICE, mark + 2);
    await expect(disableEmailMfa(ctx, auth, code, false, {})).rejects.toBeInstanceOf(InvalidInput);
    expect(await disableEmailMfa(ctx, auth, code, true, {})).toEqual({ disabled: true, remainingMethods: [] });
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
  });

  it('policy.allowEmailMfa false: enable refused (exit 7); an active one keeps working, flagged in status', async () => {
    const { ctx, auth, mark } = await enabledEmail();
    ctx.policy.allowEmailMfa = false;
    expect(accountStatus(ctx, auth).notices.join()).toContain('turned off by policy');
    expect(mfaOverview(ctx, auth.account).methods.find((m) => m.type === 'email')?.allowedByPolicy).toBe(false);
    await sendSignInCode(ctx, { username: 'alice', password: PASSWORD, method: 'email' }, {});
    const code = await smtp.code(ALICE, mark + 2);
    expect(
      (await signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'email', code } }, {}))
        .status,
    ).toBe('signed-in');
    const other = await setup();
    other.ctx.policy.allowEmailMfa = false;
    await expect(beginEmailMfa(other.ctx, other.auth, { password: PASSWORD }, {})).rejects.toBeInstanceOf(Forbidden);
  });

  it('a delivery failure is exit 8 and leaves nothing half-enabled', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const ctx = testContext({
      mailer: createMailer({ smtp: `smtp://127.0.0.1:${port}`, from: DEFAULT_FROM, outboxDir: '/nonexistent' }),
    });
    const { auth } = await withAlice(ctx);
    const err = (await beginEmailMfa(ctx, auth, { password: PASSWORD }, {}).catch((x: unknown) => x)) as Unavailable;
    expect(err).toBeInstanceOf(Unavailable);
    expect(err.exitCode).toBe(8);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(mfaOverview(ctx, auth.account).methods.find((m) => m.type === 'email')).toMatchObject({ enabled: false });
    expect(ctx.db.prepare('SELECT count(*) AS n FROM email_mfa').get()).toEqual({ n: 0 });
    expect(ctx.db.prepare('SELECT count(*) AS n FROM email_codes').get()).toEqual({ n: 0 });
  });
});

describe('security notifications (SPEC §8)', () => {
  it('a password change sends one notice; format text has no HTML part; html has both', async () => {
    const { ctx, auth, mark } = await setup();
    await changePassword(ctx, auth, { current: PASSWORD, next: 'a much better passphrase' }, {});
    const notices = smtp.messages.slice(mark).filter((m) => m.to.includes(ALICE));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.parsed.subject).toContain('password was changed');
    expect(notices[0]!.parsed.html).toBeTruthy();
    expect(notices[0]!.parsed.text).toContain('password was changed');

    setMailFormat(
      ctx,
      authenticate(
        ctx,
        (
          (await signIn(ctx, { username: 'alice', password: 'a much better passphrase' }, {})) as {
            session: { token: string };
          }
        ).session.token,
      ),
      'text',
    );
    const before = smtp.messages.length;
    const auth2 = authenticate(
      ctx,
      (
        (await signIn(ctx, { username: 'alice', password: 'a much better passphrase' }, {})) as {
          session: { token: string };
        }
      ).session.token,
    );
    await changePassword(ctx, auth2, { current: 'a much better passphrase', next: 'another fine passphrase' }, {});
    const plain = await smtp.last(ALICE, before);
    expect(plain.parsed.html).toBe(false);
    expect(plain.raw).not.toMatch(/text\/html/i);
    expect(plain.raw).toMatch(/Content-Type: text\/plain/i);
  });

  it('enabling the authenticator sends one notice', async () => {
    const { ctx, auth, mark } = await setup();
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    await confirmTotpEnrollment(ctx, auth, hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000)), {});
    const notices = smtp.messages.slice(mark).filter((m) => m.to.includes(ALICE));
    expect(notices.map((m) => m.parsed.subject)).toEqual([
      'acctsec security notice: the authenticator app was turned on as a second factor',
    ]);
  });
});

describe('a token creation notice', () => {
  it('creating a token sends one security notice', async () => {
    const { ctx, auth, mark } = await setup();
    await createToken(ctx, auth, { name: 'ci', scopes: ['dns:read'], resources: [] }, undefined, {});
    const notices = smtp.messages.slice(mark).filter((m) => m.to.includes(ALICE));
    expect(notices.map((m) => m.parsed.subject)).toEqual([
      'acctsec security notice: a personal access token "ci" was created (scopes: dns:read)',
    ]);
  });
});

describe('notification preferences', () => {
  it('show, format, subscribe, unsubscribe and organizations; security notices cannot be turned off', async () => {
    const { ctx, auth } = await setup();
    expect(notificationSettings(ctx, auth.account)).toEqual({
      format: 'html',
      newsletters: { 'product-news': false, tips: false, events: false, 'status-updates': false },
      organizations: {},
      alwaysOn: expect.arrayContaining(['password changed', 'sign-in from a new device or address']) as string[],
    });
    expect(setNewsletters(ctx, auth, ['tips', 'events'], true).newsletters).toMatchObject({ tips: true, events: true });
    expect(setNewsletters(ctx, auth, ['tips'], false).newsletters).toMatchObject({ tips: false, events: true });
    // Issue #20 §5: only organizations the user belongs to.
    expect(() => setOrganization(ctx, auth, 'acme', false)).toThrow(/not a member of an organization named "acme"/);
    adminCreateOrg(ctx, auth, 'acme', { reason: 'a customer' }, {});
    await adminAddOrgMember(ctx, auth, 'acme', 'alice', { reason: 'works there' }, {});
    expect(notificationSettings(ctx, auth.account).organizations).toEqual({ acme: true });
    expect(setOrganization(ctx, auth, 'acme', false).organizations).toEqual({ acme: false });
    expect(setMailFormat(ctx, auth, 'text').format).toBe('text');
    expect(() => setNewsletters(ctx, auth, ['security'], false)).toThrow(/always sent and cannot be turned off/);
    expect(() => setNewsletters(ctx, auth, ['cats'], true)).toThrow(/unknown list "cats"; the lists are: product-news/);
    expect(() => setMailFormat(ctx, auth, 'rtf')).toThrow(InvalidInput);
  });
});

describe('recovery addresses and `recover` (SPEC §8)', () => {
  it('an address is confirmed by a code sent to it; recover with it sets a password that signs in', async () => {
    const { ctx, auth, token, mark } = await setup();
    const sent = await addRecoveryEmail(ctx, auth, 'Backup@Example.org', undefined, {});
    expect(sent.sentTo).toBe('backup@example.org');
    await confirmRecoveryEmail(ctx, auth, 'backup@example.org', await smtp.code('backup@example.org', mark), {});

    expect(sendRecoveryCode(ctx, 'alice')).toEqual({ message: RECOVERY_SENT });
    expect(sendRecoveryCode(ctx, 'nobody')).toEqual({ message: RECOVERY_SENT });
    const code = await smtp.code('backup@example.org', mark + 1);
    await expect(
      recoverWithCode(ctx, { username: 'nobody', code, newPassword: 'a brand new passphrase' }, {}),
    ).rejects.toThrow('wrong or expired recovery code');
    await expect(recoverWithCode(ctx, { username: 'alice', code, newPassword: 'short' }, {})).rejects.toBeInstanceOf(
      InvalidInput,
    );
    expect(await recoverWithCode(ctx, { username: 'alice', code, newPassword: 'a brand new passphrase' }, {})).toEqual({
      username: 'alice',
      revokedSessions: 1,
    });
    expect(() => authenticate(ctx, token)).toThrow(AuthFailed);
    expect((await signIn(ctx, { username: 'alice', password: 'a brand new passphrase' }, {})).status).toBe('signed-in');
    await expect(
      recoverWithCode(ctx, { username: 'alice', code, newPassword: 'yet another passphrase' }, {}),
    ).rejects.toThrow('wrong or expired recovery code');
  });

  it('an unverified address receives no recovery code', async () => {
    const { ctx, auth, mark } = await setup();
    await addRecoveryEmail(ctx, auth, 'spare@example.org', undefined, {});
    sendRecoveryCode(ctx, 'alice');
    await ctx.background.settled();
    expect(smtp.messages.slice(mark).filter((m) => m.to.includes('spare@example.org'))).toHaveLength(1);
  });
});
