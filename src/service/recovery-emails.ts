import { AuthFailed, Conflict, InvalidInput, NotFound } from '../errors.js';
import { RECOVERY_METHODS } from '../factor-kinds.js';
import { findAccountByUsername, setPassword, type AccountRow } from '../store/accounts.js';
import {
  deleteRecoveryAddress,
  listRecoveryAddresses,
  putRecoveryAddress,
  verifyRecoveryAddress,
} from '../store/email.js';
import type { EmailCodeSent, IdentityProof, RecoveryEmail } from '../views.js';
import { validEmail } from './accounts.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { checkEmailCode, sendEmailCode } from './email-codes.js';
import { confirmIdentity } from './identity.js';
import { maskAddress } from './messages.js';
import { notifyAllAddresses, notifySecurity, securityNotice } from './notifications.js';
import { checkNewPassword } from './password-policy.js';
import { endSessions, type Auth } from './sessions.js';
import { normalizeUsername } from './credentials.js';
import { confirmThrottleKey, recoveryThrottle, throttledCheck } from './throttle.js';

// Recovery addresses and `acctsec recover` (SPEC §8): control of a verified address sets a new
// password; second factors stay active.

const MAX_ADDRESSES = 5;
const RECOVER = 'recover';

function addressPurpose(address: string): string {
  return `recovery-address:${address}`;
}

function views(ctx: ServiceContext, accountId: number): RecoveryEmail[] {
  return listRecoveryAddresses(ctx.db, accountId).map((r) => ({
    address: r.address,
    verified: r.verified_at !== null,
    addedAt: new Date(r.created_at).toISOString(),
    verifiedAt: r.verified_at === null ? null : new Date(r.verified_at).toISOString(),
  }));
}

export function listRecoveryEmails(ctx: ServiceContext, account: AccountRow): RecoveryEmail[] {
  return views(ctx, account.id);
}

/** A sensitive change: identity first; then a code to the new address proves it is the user's. */
export async function addRecoveryEmail(
  ctx: ServiceContext,
  auth: Auth,
  raw: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<EmailCodeSent> {
  const a = auth.account;
  const address = validEmail(raw).toLowerCase();
  const existing = views(ctx, a.id);
  const known = existing.find((r) => r.address === address);
  if (known?.verified) throw new Conflict(`${address} is already a verified recovery address`);
  if (!known && existing.length >= MAX_ADDRESSES)
    throw new Conflict(`at most ${MAX_ADDRESSES} recovery addresses; remove one first`);
  await confirmIdentity(ctx, auth, proof, origin);
  putRecoveryAddress(ctx.db, a.id, address, ctx.now());
  try {
    const { expiresAt } = await sendEmailCode(ctx, a, addressPurpose(address), [address], (code) => ({
      subject: 'acctsec: confirm this recovery address',
      paragraphs: [
        `${a.username} asked to use this address to recover their acctsec account. Enter this code to confirm it:`,
        'It works once, for 10 minutes. If you did not ask for it, ignore this message.',
      ],
      code,
    }));
    recordActivity(ctx, a.id, 'recovery_email.added', { origin, sessionId: auth.session.id, detail: { address } });
    return { method: 'email', sentTo: address, expiresAt };
  } catch (err) {
    if (!known) deleteRecoveryAddress(ctx.db, a.id, address);
    throw err;
  }
}

export async function confirmRecoveryEmail(
  ctx: ServiceContext,
  auth: Auth,
  raw: string,
  code: string,
  origin: RequestOrigin,
): Promise<RecoveryEmail> {
  const a = auth.account;
  const address = validEmail(raw).toLowerCase();
  const row = views(ctx, a.id).find((r) => r.address === address);
  if (!row)
    throw new NotFound(`${address} is not one of your recovery addresses; add it with \`acctsec recovery email add\``);
  if (row.verified) throw new Conflict(`${address} is already verified`);
  await checkEmailCode(ctx, a, addressPurpose(address), code, origin, confirmThrottleKey(a.id, auth.session.id));
  verifyRecoveryAddress(ctx.db, a.id, address, ctx.now());
  recordActivity(ctx, a.id, 'recovery_email.verified', { origin, sessionId: auth.session.id, detail: { address } });
  await notifySecurity(ctx, a, securityNotice(ctx, a, `${address} was added as a recovery address`, origin));
  return views(ctx, a.id).find((r) => r.address === address)!;
}

export async function removeRecoveryEmail(
  ctx: ServiceContext,
  auth: Auth,
  raw: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<void> {
  const a = auth.account;
  const address = raw.trim().toLowerCase();
  if (!views(ctx, a.id).some((r) => r.address === address))
    throw new NotFound(`${raw} is not one of your recovery addresses`);
  await confirmIdentity(ctx, auth, proof, origin);
  deleteRecoveryAddress(ctx.db, a.id, address);
  recordActivity(ctx, a.id, 'recovery_email.removed', { origin, sessionId: auth.session.id, detail: { address } });
  await notifySecurity(ctx, a, securityNotice(ctx, a, `${address} was removed from your recovery addresses`, origin));
}

export const RECOVERY_SENT =
  'if that account has a verified recovery address, a code is on its way there (it works once, for 10 minutes)';

/**
 * `recover --send-code`: the same answer whether or not the account exists or has an address, and no
 * error within the one-a-minute limit either, so the command reveals nothing about accounts. The
 * answer also takes the same time (issue #15): it is given before the account is even looked up, and
 * the lookup, the code and the mail follow in the background, so neither the database work nor the
 * mail server's latency can be timed from outside.
 */
export function sendRecoveryCode(ctx: ServiceContext, username: string): { message: string } {
  const name = normalizeUsername(username);
  ctx.background.run('sending a recovery code', async () => {
    const account = findAccountByUsername(ctx.db, name);
    const addresses = account
      ? views(ctx, account.id)
          .filter((r) => r.verified)
          .map((r) => r.address)
      : [];
    if (!account || addresses.length === 0) return;
    try {
      await sendEmailCode(ctx, account, RECOVER, addresses, (code) => ({
        subject: 'acctsec: your account recovery code',
        paragraphs: [
          `Someone asked to set a new password for the acctsec account ${account.username}. If it was you, the code is:`,
          'It works once, for 10 minutes. If it was not you, ignore this message; your password stays as it is.',
        ],
        code,
      }));
      recordActivity(ctx, account.id, 'recovery.code_sent', { detail: { to: addresses.map(maskAddress) } });
    } catch (err) {
      if ((err as { slug?: string }).slug !== 'throttled') throw err;
    }
  });
  return { message: RECOVERY_SENT };
}

/** `recover --code`: a code from a verified recovery address sets a new password and ends every session. */
export async function recoverWithCode(
  ctx: ServiceContext,
  input: { username: string; code: string; newPassword: string; method?: string },
  origin: RequestOrigin,
): Promise<{ username: string; revokedSessions: number }> {
  // A factor that recovers a password (SPEC §4.3: a security key) in place of a code from an address.
  const viaAddress = input.method === undefined || input.method === 'email';
  const factor = viaAddress ? undefined : ctx.factors.find((f) => f.id === input.method && f.verifyRecovery);
  const verifyRecovery = factor?.verifyRecovery;
  if (!viaAddress && !verifyRecovery)
    throw new InvalidInput(
      `invalid recovery method "${input.method}": use ${RECOVERY_METHODS.slice(0, -1).join(', ')} or ${RECOVERY_METHODS.at(-1)}`,
      '--method',
    );
  const name = normalizeUsername(input.username);
  // The policy first, the same for every name, so the answer does not tell whether the account exists.
  // (No "not the current password" rule here: checking it would be an oracle for the current one.)
  await checkNewPassword({ password: input.newPassword, username: name, minLength: ctx.policy.passwordMinLength });
  const account = findAccountByUsername(ctx.db, name);
  const wrong = new AuthFailed(
    factor ? `the ${factor.label.toLowerCase()} did not confirm this account` : 'wrong or expired recovery code',
    'wrong_code',
  );
  // Recovery has a throttle of its own (issue #15): anyone can fill it, knowing only the username, so
  // it must never hold back the owner's sign-in or second factor. Unknown names count the same way.
  const throttle = recoveryThrottle(name, origin.ip);
  if (!account) {
    return throttledCheck(ctx.db, throttle, ctx.now, 'codes', () => {
      throw wrong;
    });
  }
  try {
    // SPEC §4.3: a registered key can recover the account in place of a code from a recovery address.
    if (verifyRecovery) await verifyRecovery(ctx, account, input.code, origin, throttle);
    else await checkEmailCode(ctx, account, RECOVER, input.code, origin, throttle);
  } catch (err) {
    // One message for every refusal but throttling, so the answer does not tell accounts apart.
    throw err instanceof AuthFailed ? wrong : err;
  }
  const hash = await ctx.hasher.hash(input.newPassword);
  const revoked = ctx.db
    .transaction(() => {
      setPassword(ctx.db, account.id, hash, ctx.now());
      const n = endSessions(ctx, account.id, null);
      recordActivity(ctx, account.id, 'password.recovered', {
        origin,
        detail: {
          via: factor ? factor.label.toLowerCase().replaceAll(' ', '-') : 'recovery-email',
          revokedSessions: n,
        },
      });
      return n;
    })
    .immediate();
  await notifyAllAddresses(
    ctx,
    account,
    securityNotice(
      ctx,
      account,
      `your password was reset ${factor ? `with a ${factor.label.toLowerCase()}` : 'through a recovery address'}, and every session signed out`,
      origin,
    ),
  );
  return { username: account.username, revokedSessions: revoked };
}
