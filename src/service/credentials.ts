import { AuthFailed, Throttled } from '../errors.js';
import { findAccountByUsername, replacePasswordHash, type AccountRow } from '../store/accounts.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { isAllowed } from './ip-networks.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { standardPhc } from './phc.js';
import { signInThrottle, throttledCheck } from './throttle.js';

// The password check every flow shares (sign-in, identity confirmation, password change, key sign-in).

/** One message for an unknown user and a wrong password, so sign-in does not reveal which accounts exist. */
export const WRONG_CREDENTIALS = 'wrong username or password';

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/**
 * Checks a password under a throttle: by default the sign-in one of that username (known or not: the
 * counter exists for unknown names too, so the throttle itself reveals nothing); identity
 * confirmation passes its session's. An unknown user costs one argon2 hash, like a known one, so the
 * time taken reveals nothing either. Only a completed wrong check counts (service/throttle.ts). A
 * right password that may not be used (a locked account, an address outside its IP list) is answered
 * and counted as a wrong one, see refuseSignIn.
 */
export async function checkPassword(
  ctx: ServiceContext,
  username: string,
  password: string,
  origin: RequestOrigin,
  failure: { message: string; event: string; throttle?: string } = {
    message: WRONG_CREDENTIALS,
    event: 'signin.failed',
  },
): Promise<AccountRow> {
  const name = normalizeUsername(username);
  const account = findAccountByUsername(ctx.db, name);
  try {
    await throttledCheck(
      ctx.db,
      failure.throttle ?? signInThrottle(name, origin.ip),
      ctx.now,
      'sign-in attempts',
      async () => {
        if (!account) {
          await ctx.hasher.hash(password);
          throw new AuthFailed(WRONG_CREDENTIALS);
        }
        if (!(await ctx.hasher.verify(account.password_hash, password))) {
          recordActivity(ctx, account.id, failure.event, { origin, detail: { reason: 'password' } });
          throw new AuthFailed(failure.message);
        }
        // Inside the check: a refused right password is a completed wrong check, counted as one.
        refuseSignIn(ctx, account, origin, failure.message);
      },
    );
  } catch (err) {
    if (account && err instanceof Throttled && firstRefusalInAWhile(ctx, account.id, origin))
      recordActivity(ctx, account.id, 'signin.throttled', { origin });
    throw err;
  }
  if (!account) throw new AuthFailed(WRONG_CREDENTIALS);
  if (ctx.hasher.needsRehash(account.password_hash)) {
    // SPEC §3: a hash made with weaker parameters is upgraded while we hold the password.
    const upgraded = await ctx.hasher.hash(password);
    replacePasswordHash(ctx.db, account.id, account.password_hash, upgraded);
    account.password_hash = upgraded;
  } else if (standardPhc(account.password_hash) !== account.password_hash) {
    // Issue #17: a row written before hashes were stored in the PHC order, re-encoded (same bytes).
    const reordered = standardPhc(account.password_hash);
    replacePasswordHash(ctx.db, account.id, account.password_hash, reordered);
    account.password_hash = reordered;
  }
  return account;
}

/**
 * A right password for an account that may not sign in — locked, or asked from an address outside its
 * IP list (SPEC §6; local sign-ins have no address and are not restricted) — gets the answer of a
 * wrong one (issue #15): same error, message and exit code, and it stays counted in the sign-in
 * throttle like the wrong password it pretends to be (releasing it would show, at the next attempt,
 * that this one was right). Only the owner learns the truth: the activity log has the real reason,
 * and a security notice says the password was used, sent after the answer so it cannot be timed.
 */
function refuseSignIn(ctx: ServiceContext, account: AccountRow, origin: RequestOrigin, message: string): void {
  const reason =
    account.locked_at !== null ? 'locked' : origin.ip && !isAllowed(ctx, account, origin.ip) ? 'ip' : undefined;
  if (!reason) return;
  recordActivity(ctx, account.id, 'signin.refused', { origin, detail: { reason } });
  const what =
    reason === 'locked'
      ? 'your password was used to sign in while the account is locked; the sign-in was refused'
      : `your password was used to sign in from ${origin.ip}, outside your IP restriction; the sign-in was refused`;
  const notice = securityNotice(ctx, account, what, origin);
  ctx.background.run('a security notice', () => notifySecurity(ctx, account, notice));
  throw new AuthFailed(message);
}

/** A throttled sign-in is recorded once a minute per account and address (per process), not per request. */
const THROTTLED_LOG_EVERY_MS = 60_000;
const throttledLogged = new WeakMap<object, Map<string, number>>();

/**
 * Whether this refusal should go to the activity log: an outsider repeating a throttled sign-in would
 * otherwise write a row (and take the writers' lock, on PostgreSQL shared by every instance) per request.
 */
function firstRefusalInAWhile(ctx: ServiceContext, accountId: number, origin: RequestOrigin): boolean {
  let seen = throttledLogged.get(ctx.db);
  if (!seen) throttledLogged.set(ctx.db, (seen = new Map<string, number>()));
  const key = `${accountId} ${origin.ip ?? ''}`;
  const at = ctx.now();
  const last = seen.get(key);
  if (last !== undefined && at - last < THROTTLED_LOG_EVERY_MS && at >= last) return false;
  if (seen.size >= 10_000) seen.clear();
  seen.set(key, at);
  return true;
}
