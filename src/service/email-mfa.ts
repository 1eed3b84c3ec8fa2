import { Conflict, Forbidden, NotFound } from '../errors.js';
import { kindOf } from '../factor-kinds.js';
import type { AccountRow } from '../store/accounts.js';
import {
  activateEmailMfa,
  deleteEmailCodes,
  deleteEmailMfa,
  findEmailCode,
  findEmailMfa,
  putPendingEmailMfa,
  type EmailMfaRow,
} from '../store/email.js';
import type { EmailCodeSent, IdentityProof } from '../views.js';
import { recordActivity } from './activity.js';
import { addressProven } from './account-email.js';
import type { Auth, RequestOrigin, SecondFactor, ServiceContext } from './context.js';
import { checkEmailCode, sendEmailCode } from './email-codes.js';
import { enableIdentityRule } from './factor-list.js';
import { confirmIdentity } from './identity.js';
import { maskAddress } from './messages.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { disableMethod } from './second-factors.js';
import { confirmThrottleKey } from './throttle.js';
import { repairActivity, repairNote } from './repair-window.js';

// Email codes as a second factor (SPEC §4.2).

export const NIST_EMAIL_NOTICE =
  'NIST SP 800-63B rev 4 does not count email as an authentication factor: prefer the authenticator app (`acctsec mfa totp enable`) or a security key';

const SIGN_IN = 'mfa';
const ENABLE = 'enable';

function active(row: EmailMfaRow | undefined): row is EmailMfaRow & { enabled_at: number } {
  return row !== undefined && row.enabled_at !== null;
}

function signInCodeMessage(account: AccountRow) {
  return (code: string) => ({
    subject: 'acctsec: your sign-in code',
    paragraphs: [
      `Hello ${account.username}, here is your code to sign in or to confirm a change:`,
      'It works once, for 10 minutes. If you did not ask for it, someone has your password: change it now.',
    ],
    code,
  });
}

export const emailFactor: SecondFactor<EmailCodeSent, { enabled: true; address: string }> = {
  ...kindOf('email'),
  isActive: (ctx, account) => active(findEmailMfa(ctx.db, account.id)),
  status(ctx, account) {
    const row = findEmailMfa(ctx.db, account.id);
    return {
      type: 'email',
      enabled: active(row),
      enabledAt: active(row) ? new Date(row.enabled_at).toISOString() : null,
      ...(active(row) ? { address: row.address } : {}),
      ...(active(row) && !ctx.policy.allowEmailMfa ? { allowedByPolicy: false } : {}),
    };
  },
  async verify(ctx, account, code, origin, throttle) {
    if (!active(findEmailMfa(ctx.db, account.id))) throw new NotFound('email codes are not active for this account');
    await checkEmailCode(ctx, account, SIGN_IN, code, origin, throttle);
    return [];
  },
  async sendCode(ctx, account) {
    const row = findEmailMfa(ctx.db, account.id);
    if (!active(row)) throw new NotFound('email codes are not active for this account');
    const { expiresAt } = await sendEmailCode(ctx, account, SIGN_IN, [row.address], signInCodeMessage(account));
    return { method: 'email', sentTo: maskAddress(row.address), expiresAt };
  },
  enrolment: {
    start: (ctx, auth, request, origin) => beginEmailMfa(ctx, auth, request.proof, origin),
    confirm: (ctx, auth, code, origin) => confirmEmailMfa(ctx, auth, code, origin),
  },
  disable: (ctx, auth, request, origin) =>
    disableEmailMfa(ctx, auth, request.code ?? '', request.acknowledgeLast, origin),
  removeAll(ctx, accountId) {
    deleteEmailMfa(ctx.db, accountId);
    deleteEmailCodes(ctx.db, accountId, SIGN_IN);
    deleteEmailCodes(ctx.db, accountId, ENABLE);
  },
};

function enableMessage(account: AccountRow) {
  return (code: string) => ({
    subject: 'acctsec: confirm email codes for your account',
    paragraphs: [
      `Hello ${account.username}, enter this code to turn on email codes at sign-in:`,
      'It works once, for 10 minutes. If you did not ask for it, change your password now.',
    ],
    code,
  });
}

/** Confirms identity by the seed's rule, then sends a code to the account's address. */
export async function beginEmailMfa(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<EmailCodeSent> {
  const a = auth.account;
  if (!ctx.policy.allowEmailMfa) {
    throw new Forbidden(
      'email codes are turned off by policy (policy.allowEmailMfa): use the authenticator app, `acctsec mfa totp enable`',
    );
  }
  if (active(findEmailMfa(ctx.db, a.id))) throw new Conflict('email codes are already active');
  await confirmIdentity(ctx, auth, proof, origin, {
    always: true,
    accept: enableIdentityRule(ctx, a, 'email'),
    repair: true,
  });
  putPendingEmailMfa(ctx.db, a.id, a.email, ctx.now());
  try {
    const { expiresAt } = await sendEmailCode(ctx, a, ENABLE, [a.email], enableMessage(a));
    recordActivity(ctx, a.id, 'mfa.email.enrollment_started', { origin, sessionId: auth.session.id });
    return { method: 'email', sentTo: maskAddress(a.email), expiresAt, notices: [NIST_EMAIL_NOTICE] };
  } catch (err) {
    // Nothing half-enabled: without a delivered code there is no pending enrollment either.
    deleteEmailMfa(ctx.db, a.id);
    throw err;
  }
}

function pending(ctx: ServiceContext, account: AccountRow): EmailMfaRow {
  const row = findEmailMfa(ctx.db, account.id);
  if (active(row)) throw new Conflict('email codes are already active');
  if (!row) throw new NotFound('no email-code enrollment is pending; run `acctsec mfa email enable`');
  return row;
}

export async function resendEmailMfa(ctx: ServiceContext, auth: Auth, origin: RequestOrigin): Promise<EmailCodeSent> {
  const row = pending(ctx, auth.account);
  const { expiresAt } = await sendEmailCode(ctx, auth.account, ENABLE, [row.address], enableMessage(auth.account));
  recordActivity(ctx, auth.account.id, 'mfa.email.code_resent', { origin, sessionId: auth.session.id });
  return { method: 'email', sentTo: maskAddress(row.address), expiresAt, notices: [] };
}

export async function confirmEmailMfa(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  origin: RequestOrigin,
): Promise<{ enabled: true; address: string }> {
  const a = auth.account;
  const row = pending(ctx, a);
  if (!findEmailCode(ctx.db, a.id, ENABLE))
    throw new NotFound('no email-code enrollment is pending; run `acctsec mfa email enable`');
  await checkEmailCode(ctx, a, ENABLE, code, origin, confirmThrottleKey(a.id, auth.session.id));
  activateEmailMfa(ctx.db, a.id, ctx.now());
  // Issue #20 §3: the code was sent to the account's address, so that address is proven too.
  addressProven(ctx, a, row.address);
  recordActivity(ctx, a.id, 'mfa.email.enabled', { origin, sessionId: auth.session.id, ...repairActivity(ctx, auth) });
  await notifySecurity(
    ctx,
    a,
    securityNotice(ctx, a, `email codes were turned on as a second factor${repairNote(ctx, auth)}`, origin),
  );
  return { enabled: true, address: row.address };
}

/** SPEC §4.4: a code sent to the address first; the last method also needs an explicit yes. */
export function disableEmailMfa(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  acknowledgeLast: boolean,
  origin: RequestOrigin,
): Promise<{ disabled: true; remainingMethods: string[] }> {
  return disableMethod(ctx, auth, emailFactor, code, acknowledgeLast, origin);
}
