import { Conflict, NotFound } from '../errors.js';
import {
  applyEmailChange,
  deleteAccountEmailCodes,
  deleteEmailChange,
  findEmailChange,
  markEmailVerified,
  moveEmailMfaAddress,
  putEmailChange,
  type EmailChangeRow,
} from '../store/account-email.js';
import { findAccountById, type AccountRow } from '../store/accounts.js';
import type { AccountEmail, EmailCodeSent, IdentityProof } from '../views.js';
import { validEmail } from './accounts.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { checkEmailCode, sendEmailCode } from './email-codes.js';
import { identityFactors } from './factor-list.js';
import { confirmIdentity } from './identity.js';
import { maskAddress, renderMessage, type MessageBody } from './messages.js';
import { mailFormat, securityNotice } from './notifications.js';
import type { Auth } from './sessions.js';
import { confirmThrottleKey } from './throttle.js';

// The account's own address (issue #20 §3). It receives security notices from the start, but codes and
// reset tokens only once a code sent to it was entered. A change waits for a code sent to the new
// address; until then the old address stays in use and the new one is used for nothing. Codes are the
// emailed codes of email-codes.ts (6 digits, 10 minutes, single use, 5 tries, one a minute), bound to
// the address they were sent to by their purpose, and wrong ones count in the session's confirmation
// throttle like every other code typed by a signed-in user.

const PURPOSE = 'account-email:';

function purpose(address: string): string {
  return `${PURPOSE}${address}`;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function emailView(ctx: ServiceContext, account: AccountRow): AccountEmail {
  const change = findEmailChange(ctx.db, account.id);
  return {
    address: account.email,
    verified: account.email_verified_at !== null,
    verifiedAt: iso(account.email_verified_at),
    pending: change
      ? { address: change.address, requestedAt: iso(change.requested_at)!, requestedBy: change.requested_by }
      : null,
  };
}

export function isEmailVerified(account: AccountRow): boolean {
  return account.email_verified_at !== null;
}

/** What a code would confirm: a pending change, else the current address while it is unverified. */
function awaiting(ctx: ServiceContext, account: AccountRow): { address: string; change?: EmailChangeRow } | undefined {
  const change = findEmailChange(ctx.db, account.id);
  if (change) return { address: change.address, change };
  return isEmailVerified(account) ? undefined : { address: account.email };
}

function codeMessage(account: AccountRow, kind: 'change' | 'verify', by: string | null) {
  return (code: string): MessageBody => ({
    subject: kind === 'change' ? 'acctsec: confirm your new address' : 'acctsec: confirm your address',
    paragraphs: [
      kind === 'change'
        ? `${by ? `Support staff (${by})` : account.username} asked to make this the address of the acctsec account ${account.username}. To confirm it, sign in and run \`acctsec email confirm\` with this code:`
        : `This is the address of the acctsec account ${account.username}. To confirm it, sign in and run \`acctsec email confirm\` with this code:`,
      'It works once, for 10 minutes (`acctsec email confirm --send-code` sends a new one). If you did not ask for it, ignore this message: nothing changes without the code.',
    ],
    code,
  });
}

/** The way to report a change the owner did not make, in every notice about the address. */
const REPORT =
  'If this was not you: run `acctsec email cancel` and `acctsec password change`; if you cannot sign in, run `acctsec recover --username <you>` or contact support, and quote this message.';

async function noticeTo(ctx: ServiceContext, account: AccountRow, to: string[], body: MessageBody): Promise<void> {
  await ctx.mailer.notify(renderMessage(to, mailFormat(ctx, account), body));
}

/** Sends a code to the new address, then records the pending change and warns the current address. */
export async function startChange(
  ctx: ServiceContext,
  account: AccountRow,
  address: string,
  by: string | null,
  origin: RequestOrigin,
  sessionId?: string,
): Promise<EmailCodeSent> {
  const { expiresAt } = await sendEmailCode(
    ctx,
    account,
    purpose(address),
    [address],
    codeMessage(account, 'change', by),
  );
  ctx.db
    .transaction(() => {
      putEmailChange(ctx.db, { account_id: account.id, address, requested_at: ctx.now(), requested_by: by });
      recordActivity(ctx, account.id, 'email.change_requested', {
        origin,
        ...(sessionId ? { sessionId } : {}),
        detail: { to: address, ...(by ? { by } : {}) },
      });
    })
    .immediate();
  const what = `a change of your account's address to ${maskAddress(address)} was requested${by ? ` by support staff (${by})` : ''}; it takes effect only once a code sent there is entered`;
  const notice = securityNotice(ctx, account, what, origin);
  await noticeTo(ctx, account, [account.email], { ...notice, paragraphs: [...notice.paragraphs, REPORT] });
  return { method: 'email', sentTo: address, expiresAt };
}

/**
 * `email change`: identity confirmed explicitly whatever the 10-minute window (a session thief would
 * otherwise move the address where codes and reset tokens go), then a code to the new address.
 * Addresses need not be unique across accounts, so there is no "taken" answer to enumerate with.
 */
export async function changeEmail(
  ctx: ServiceContext,
  auth: Auth,
  raw: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<EmailCodeSent> {
  const a = auth.account;
  const address = validEmail(raw);
  if (same(address, a.email)) {
    throw new Conflict(
      isEmailVerified(a)
        ? `${address} is already your account's address`
        : `${address} is already your account's address; confirm it with \`acctsec email confirm --send-code\``,
    );
  }
  // The address receives email codes (a second factor) and reset tokens: with a second factor active,
  // the password alone is not enough to move it (SPEC §2: second-factor changes need a second-factor
  // code), else a session thief who knows the password would take email codes over.
  const secondFactorOnly = identityFactors(ctx, a).length > 0;
  await confirmIdentity(ctx, auth, proof, origin, {
    always: true,
    ...(secondFactorOnly ? { accept: { password: false } } : {}),
  });
  return startChange(ctx, a, address, null, origin, auth.session.id);
}

/** `email confirm --send-code`: a (new) code to the address waiting for one; the 60 s rule applies. */
export async function sendEmailConfirmation(
  ctx: ServiceContext,
  auth: Auth,
  origin: RequestOrigin,
): Promise<EmailCodeSent> {
  const a = auth.account;
  const w = awaiting(ctx, a);
  if (!w) throw new Conflict(`${a.email} is verified and no change is pending: nothing to confirm`);
  const { expiresAt } = await sendEmailCode(
    ctx,
    a,
    purpose(w.address),
    [w.address],
    codeMessage(a, w.change ? 'change' : 'verify', w.change?.requested_by ?? null),
  );
  recordActivity(ctx, a.id, 'email.code_sent', { origin, sessionId: auth.session.id, detail: { to: w.address } });
  return { method: 'email', sentTo: w.address, expiresAt };
}

/** Sends the first code to a new account's address (`init`, `admin users create`); mail failures are the caller's. */
export async function sendFirstVerification(ctx: ServiceContext, account: AccountRow): Promise<EmailCodeSent> {
  const { expiresAt } = await sendEmailCode(
    ctx,
    account,
    purpose(account.email),
    [account.email],
    codeMessage(account, 'verify', null),
  );
  return { method: 'email', sentTo: account.email, expiresAt };
}

/** `email confirm`: the code from the address waiting for it makes that address the verified one. */
export async function confirmEmail(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  origin: RequestOrigin,
): Promise<AccountEmail> {
  const a = auth.account;
  const w = awaiting(ctx, a);
  if (!w) throw new Conflict(`${a.email} is verified and no change is pending: nothing to confirm`);
  await checkEmailCode(ctx, a, purpose(w.address), code, origin, confirmThrottleKey(a.id, auth.session.id));
  const previous = a.email;
  if (w.change) {
    const change = w.change;
    ctx.db
      .transaction(() => {
        if (!applyEmailChange(ctx.db, a.id, change.address, ctx.now()))
          throw new Conflict('the pending change was cancelled or replaced meanwhile; nothing changed');
        moveEmailMfaAddress(ctx.db, a.id, change.address);
        deleteAccountEmailCodes(ctx.db, a.id, PURPOSE);
        recordActivity(ctx, a.id, 'email.changed', {
          origin,
          sessionId: auth.session.id,
          detail: { from: previous, to: change.address, ...(change.requested_by ? { by: change.requested_by } : {}) },
        });
      })
      .immediate();
    const now = findAccountById(ctx.db, a.id)!;
    const notice = securityNotice(
      ctx,
      now,
      `your account's address was changed from ${previous} to ${change.address}`,
      origin,
    );
    // Both addresses hear of it: the old one is how an owner who did not ask finds out.
    await noticeTo(ctx, now, [previous, change.address], { ...notice, paragraphs: [...notice.paragraphs, REPORT] });
    return emailView(ctx, now);
  }
  if (!markEmailVerified(ctx.db, a.id, w.address, ctx.now()))
    throw new Conflict('the address changed meanwhile; nothing was verified');
  recordActivity(ctx, a.id, 'email.verified', { origin, sessionId: auth.session.id, detail: { address: w.address } });
  return emailView(ctx, findAccountById(ctx.db, a.id)!);
}

/** `email cancel`: drops a pending change; the current address stays. */
export function cancelEmailChange(ctx: ServiceContext, auth: Auth, origin: RequestOrigin): AccountEmail {
  const a = auth.account;
  const change = findEmailChange(ctx.db, a.id);
  if (!change) throw new NotFound('no change of address is pending');
  ctx.db
    .transaction(() => {
      deleteEmailChange(ctx.db, a.id);
      deleteAccountEmailCodes(ctx.db, a.id, PURPOSE);
      recordActivity(ctx, a.id, 'email.change_cancelled', {
        origin,
        sessionId: auth.session.id,
        detail: { address: change.address },
      });
    })
    .immediate();
  return emailView(ctx, findAccountById(ctx.db, a.id)!);
}

/** Email MFA was activated with a code sent to the account's address: that proves the address too. */
export function addressProven(ctx: ServiceContext, account: AccountRow, address: string): void {
  if (same(address, account.email)) markEmailVerified(ctx.db, account.id, account.email, ctx.now());
}
