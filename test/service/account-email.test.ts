import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthFailed, Conflict, Forbidden, IdentityRequired, InvalidInput, Throttled } from '../../src/errors.js';
import { createMailer, DEFAULT_FROM } from '../../src/mail/mailer.js';
import { accountStatus } from '../../src/service/accounts.js';
import {
  cancelEmailChange,
  changeEmail,
  confirmEmail,
  emailView,
  sendEmailConfirmation,
  sendFirstVerification,
} from '../../src/service/account-email.js';
import { adminSetEmail } from '../../src/service/admin-email.js';
import { createUser, recoverWithResetToken, resetPassword } from '../../src/service/admin.js';
import { listAudit } from '../../src/service/audit.js';
import { beginEmailMfa, confirmEmailMfa } from '../../src/service/email-mfa.js';
import { sendFactorCode } from '../../src/service/second-factors.js';
import { authenticate, type Auth } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import type { ServiceContext } from '../../src/service/context.js';
import { findAccountByUsername } from '../../src/store/accounts.js';
import { beginTotpEnrollment, confirmTotpEnrollment } from '../../src/service/totp.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { TestSmtp } from '../smtp.js';
import { MINUTE, PASSWORD, testContext, withAlice } from './context.js';

// Issue #20 §3: the account's own address, verified by a code before it carries codes, and changed only
// through a code sent to the new address.

const ALICE = 'alice@example.com';
const NEW = 'alice@new.example.org';
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await TestSmtp.start();
});
afterAll(() => smtp.stop());

async function setup() {
  const ctx = testContext({
    mailer: createMailer({ smtp: smtp.url(), from: DEFAULT_FROM, outboxDir: '/nonexistent' }),
  });
  const { auth } = await withAlice(ctx);
  return { ctx, auth };
}

/** The account as the store has it now (an Auth's row is read once, at authentication). */
function fresh(ctx: ServiceContext, auth: Auth): Auth {
  return { ...auth, account: findAccountByUsername(ctx.db, auth.account.username)! };
}

async function verified() {
  const s = await setup();
  const mark = smtp.messages.length;
  await sendFirstVerification(s.ctx, s.auth.account);
  await confirmEmail(s.ctx, s.auth, await smtp.code(ALICE, mark), {});
  s.ctx.clock.advance(MINUTE + 1000);
  return { ...s, auth: fresh(s.ctx, s.auth) };
}

/** A plain user `name` made by alice and signed in. */
async function user(ctx: ServiceContext, admin: Auth, name: string, role = 'user'): Promise<Auth> {
  const made = await createUser(
    ctx,
    admin,
    { username: name, email: `${name}@example.com`, role, reason: 'new hire', printToken: true },
    {},
  );
  await recoverWithResetToken(
    ctx,
    { username: name, token: made.resetToken!, newPassword: 'a plain member passphrase' },
    {},
  );
  const r = await signIn(ctx, { username: name, password: 'a plain member passphrase' }, {});
  if (r.status !== 'signed-in') throw new Error(r.status);
  return authenticate(ctx, r.session.token);
}

describe('the first address is verified by a code (init, admin users create)', () => {
  it('starts unverified with a status notice; the code sent to it verifies it, once', async () => {
    const { ctx, auth } = await setup();
    expect(emailView(ctx, auth.account)).toEqual({ address: ALICE, verified: false, verifiedAt: null, pending: null });
    expect(accountStatus(ctx, auth).notices.join('\n')).toContain('is not verified');
    const mark = smtp.messages.length;
    await sendFirstVerification(ctx, auth.account);
    const m = await smtp.last(ALICE, mark);
    expect(m.parsed.subject).toBe('acctsec: confirm your address');
    const code = await smtp.code(ALICE, mark);
    const v = await confirmEmail(ctx, auth, code, {});
    expect(v).toMatchObject({ address: ALICE, verified: true, verifiedAt: new Date(ctx.now()).toISOString() });
    expect(accountStatus(ctx, fresh(ctx, auth)).notices.join('\n')).not.toContain('is not verified');
    // Nothing is waiting any more: the used code confirms nothing.
    await expect(confirmEmail(ctx, fresh(ctx, auth), code, {})).rejects.toBeInstanceOf(Conflict);
  });

  it('`admin users create` sends the new owner a code for the address, apart from the reset token', async () => {
    const { ctx, auth } = await setup();
    const mark = smtp.messages.length;
    await createUser(ctx, auth, { username: 'uma', email: 'uma@example.com', reason: 'new hire' }, {});
    await smtp.last('uma@example.com', mark);
    await new Promise((r) => setTimeout(r, 200));
    const subjects = smtp.messages
      .slice(mark)
      .filter((m) => m.to.includes('uma@example.com'))
      .map((m) => m.parsed.subject);
    expect(subjects).toEqual(['acctsec: your new account', 'acctsec: confirm your address']);
  });

  it('enabling email codes proves the address, so it becomes verified', async () => {
    const { ctx, auth } = await setup();
    const mark = smtp.messages.length;
    await beginEmailMfa(ctx, auth, { password: PASSWORD }, {});
    await confirmEmailMfa(ctx, auth, await smtp.code(ALICE, mark), {});
    expect(emailView(ctx, fresh(ctx, auth).account).verified).toBe(true);
  });
});

describe('`email change`', () => {
  it('needs identity confirmation even just after sign-in (a session thief has no password)', async () => {
    const { ctx, auth } = await verified();
    const mark = smtp.messages.length;
    await expect(changeEmail(ctx, auth, NEW, undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    await expect(changeEmail(ctx, auth, NEW, { password: 'wrong password here' }, {})).rejects.toBeInstanceOf(
      AuthFailed,
    );
    expect(smtp.messages.slice(mark)).toEqual([]);
    expect(emailView(ctx, fresh(ctx, auth).account).pending).toBeNull();
  });

  it('with a second factor active, the password alone does not move the address email codes go to (review finding)', async () => {
    const { ctx, auth } = await verified();
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    await confirmTotpEnrollment(ctx, auth, hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000)), {});
    const mark = smtp.messages.length;
    const refused = await changeEmail(ctx, fresh(ctx, auth), NEW, { password: PASSWORD }, {}).catch(
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(IdentityRequired);
    expect((refused as IdentityRequired).accepts).toEqual({ password: false, methods: ['totp'] });
    expect(smtp.messages.slice(mark)).toEqual([]);
    ctx.clock.advance(31_000);
    const code = hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000));
    const sent = await changeEmail(ctx, fresh(ctx, auth), NEW, { secondFactor: { method: 'totp', code } }, {});
    expect(sent).toMatchObject({ sentTo: NEW });
  });

  it('sends a code to the new address and a notice to the old one; nothing changes until the code is entered', async () => {
    const { ctx, auth } = await verified();
    const mark = smtp.messages.length;
    const sent = await changeEmail(ctx, auth, NEW, { password: PASSWORD }, {});
    expect(sent).toMatchObject({ method: 'email', sentTo: NEW });
    const code = await smtp.code(NEW, mark);
    const warning = await smtp.last(ALICE, mark);
    expect(warning.parsed.subject).toContain(
      "a change of your account's address to a***@new.example.org was requested",
    );
    expect(warning.parsed.text).toContain('acctsec email cancel');
    expect(warning.parsed.text).toContain('acctsec recover');
    expect(warning.parsed.text).not.toContain(code);
    const pending = emailView(ctx, fresh(ctx, auth).account);
    expect(pending).toMatchObject({ address: ALICE, verified: true, pending: { address: NEW, requestedBy: null } });
    const done = await confirmEmail(ctx, fresh(ctx, auth), code, {});
    expect(done).toMatchObject({ address: NEW, verified: true, pending: null });
    const after = await smtp.last(ALICE, mark + 2);
    expect(after.to.sort()).toEqual([ALICE, NEW].sort());
    expect(after.parsed.subject).toContain(`changed from ${ALICE} to ${NEW}`);
    // Single use: the same code again confirms nothing.
    await expect(confirmEmail(ctx, fresh(ctx, auth), code, {})).rejects.toBeInstanceOf(Conflict);
  });

  it('a wrong code is refused and changes nothing (each counted by the throttle); a code expires after 10 minutes', async () => {
    const { ctx, auth } = await verified();
    const mark = smtp.messages.length;
    await changeEmail(ctx, auth, NEW, { password: PASSWORD }, {});
    const code = await smtp.code(NEW, mark);
    const wrong = code === '000000' ? '111111' : '000000';
    await expect(confirmEmail(ctx, auth, wrong, {})).rejects.toBeInstanceOf(AuthFailed);
    await expect(confirmEmail(ctx, auth, '12ab', {})).rejects.toBeInstanceOf(AuthFailed);
    expect(fresh(ctx, auth).account.email).toBe(ALICE);
    ctx.clock.advance(10 * MINUTE + 1000);
    await expect(confirmEmail(ctx, auth, code, {})).rejects.toThrow(/expired/);
    expect(fresh(ctx, auth).account.email).toBe(ALICE);
    // Guessing is throttled like every code typed in a session.
    const m2 = smtp.messages.length;
    await sendEmailConfirmation(ctx, auth, {});
    const next = await smtp.code(NEW, m2);
    const bad = next === '000000' ? '111111' : '000000';
    let last: unknown;
    for (let i = 0; i < 8; i++) last = await confirmEmail(ctx, auth, bad, {}).catch((e: unknown) => e);
    expect(last).toBeInstanceOf(Throttled);
  });

  it('a new code only a minute after the last one (exit 6)', async () => {
    const { ctx, auth } = await verified();
    await changeEmail(ctx, auth, NEW, { password: PASSWORD }, {});
    ctx.clock.advance(20_000);
    await expect(sendEmailConfirmation(ctx, auth, {})).rejects.toBeInstanceOf(Throttled);
  });

  it('of two concurrent confirmations with the same code, exactly one succeeds', async () => {
    const { ctx, auth } = await verified();
    const mark = smtp.messages.length;
    await changeEmail(ctx, auth, NEW, { password: PASSWORD }, {});
    const code = await smtp.code(NEW, mark);
    const results = await Promise.allSettled([
      confirmEmail(ctx, fresh(ctx, auth), code, {}),
      confirmEmail(ctx, fresh(ctx, auth), code, {}),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('the pending address is used for nothing: email codes go to the old address until the change is confirmed', async () => {
    const { ctx, auth } = await verified();
    let mark = smtp.messages.length;
    await beginEmailMfa(ctx, auth, { password: PASSWORD }, {});
    await confirmEmailMfa(ctx, auth, await smtp.code(ALICE, mark), {});
    ctx.clock.advance(MINUTE + 1000);
    // With email codes on, moving the address takes a code from the current one (not the password).
    mark = smtp.messages.length;
    await sendFactorCode(ctx, auth.account, 'email', {});
    const proof = await smtp.code(ALICE, mark);
    ctx.clock.advance(MINUTE + 1000);
    mark = smtp.messages.length;
    await changeEmail(ctx, auth, NEW, { secondFactor: { method: 'email', code: proof } }, {});
    const code = await smtp.code(NEW, mark);
    ctx.clock.advance(MINUTE + 1000);
    expect((await sendFactorCode(ctx, auth.account, 'email', {})).sentTo).toBe('a***@example.com');
    ctx.clock.advance(MINUTE + 1000);
    await confirmEmail(ctx, fresh(ctx, auth), code, {});
    ctx.clock.advance(MINUTE + 1000);
    expect((await sendFactorCode(ctx, fresh(ctx, auth).account, 'email', {})).sentTo).toBe('a***@new.example.org');
  });

  it('a code sent to one address does not confirm a change to another', async () => {
    const { ctx, auth } = await verified();
    const mark = smtp.messages.length;
    await changeEmail(ctx, auth, NEW, { password: PASSWORD }, {});
    const first = await smtp.code(NEW, mark);
    ctx.clock.advance(MINUTE + 1000);
    await changeEmail(ctx, auth, 'other@example.net', { password: PASSWORD }, {});
    await expect(confirmEmail(ctx, fresh(ctx, auth), first, {})).rejects.toBeInstanceOf(AuthFailed);
  });

  it('cancel drops the pending change; bad and same addresses are refused; taken addresses are not a thing', async () => {
    const { ctx, auth } = await verified();
    await changeEmail(ctx, auth, NEW, { password: PASSWORD }, {});
    expect(cancelEmailChange(ctx, auth, {})).toMatchObject({ address: ALICE, pending: null });
    await expect(changeEmail(ctx, auth, 'not an address', { password: PASSWORD }, {})).rejects.toBeInstanceOf(
      InvalidInput,
    );
    await expect(changeEmail(ctx, auth, 'ALICE@example.com', { password: PASSWORD }, {})).rejects.toBeInstanceOf(
      Conflict,
    );
    // Bob's address is accepted like any other: addresses are not unique, so nothing can be enumerated.
    await user(ctx, auth, 'bob');
    ctx.clock.advance(MINUTE + 1000);
    await expect(changeEmail(ctx, auth, 'bob@example.com', { password: PASSWORD }, {})).resolves.toMatchObject({
      sentTo: 'bob@example.com',
    });
  });
});

describe('`admin users set-email` and reset tokens', () => {
  it('support starts the change, audited; the code goes to the new address only, the owner confirms it', async () => {
    const { ctx, auth } = await setup();
    const sam = await user(ctx, auth, 'sam', 'support');
    const uma = await user(ctx, auth, 'uma');
    const mark = smtp.messages.length;
    const r = await adminSetEmail(ctx, sam, 'uma', 'uma@new.example.org', { reason: 'ticket 12, called in' }, {});
    expect(r).toMatchObject({ action: 'users.set-email', target: 'uma', dryRun: false });
    expect(JSON.stringify(r)).not.toMatch(/\d{6}/);
    const code = await smtp.code('uma@new.example.org', mark);
    const notice = await smtp.last('uma@example.com', mark);
    expect(notice.parsed.subject).toContain('requested by support staff (sam)');
    expect(listAudit(ctx, { limit: 5 }).find((e) => e.action === 'users.set-email')).toMatchObject({
      actor: 'sam',
      target: 'uma',
      outcome: 'ok',
    });
    expect(emailView(ctx, fresh(ctx, uma).account).pending).toMatchObject({ requestedBy: 'sam' });
    expect((await confirmEmail(ctx, fresh(ctx, uma), code, {})).address).toBe('uma@new.example.org');
    // Support may not act on an admin; a plain user may not at all; --reason is required.
    await expect(adminSetEmail(ctx, sam, 'alice', 'x@example.org', { reason: 'because' }, {})).rejects.toBeInstanceOf(
      Forbidden,
    );
    await expect(adminSetEmail(ctx, uma, 'sam', 'x@example.org', { reason: 'because' }, {})).rejects.toBeInstanceOf(
      Forbidden,
    );
    await expect(adminSetEmail(ctx, auth, 'uma', 'x@example.org', { reason: '' }, {})).rejects.toBeInstanceOf(
      InvalidInput,
    );
  });

  it('a reset token is emailed only to a verified address: unverified, support must hand it over', async () => {
    const { ctx, auth } = await setup();
    await user(ctx, auth, 'uma');
    await expect(resetPassword(ctx, auth, 'uma', { reason: 'forgot it' }, {})).rejects.toThrow(
      /no verified address.*--print-token/,
    );
    await expect(
      resetPassword(ctx, auth, 'uma', { reason: 'verified by video', printToken: true }, {}),
    ).resolves.toMatchObject({ resetToken: expect.stringMatching(/^acs_rst_/) as unknown });
  });
});
