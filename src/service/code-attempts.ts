import { AuthFailed, Throttled } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { throttledCheck, type Throttle } from './throttle.js';

// A code attempt of any second factor (app, email, recovery, key): throttled by its flow, logged.

/**
 * Runs a code check under the throttle of its flow (`key`: the sign-in's second factor, a session's
 * identity confirmation, or recovery; issue #15), logging a refusal. Only a wrong code counts.
 */
export async function codeCheck<T>(
  ctx: ServiceContext,
  account: AccountRow,
  method: string,
  origin: RequestOrigin,
  key: Throttle,
  check: () => Promise<T> | T,
): Promise<T> {
  try {
    return await throttledCheck(ctx.db, key, ctx.now, 'codes', check);
  } catch (err) {
    if (err instanceof Throttled) recordActivity(ctx, account.id, 'mfa.code.throttled', { origin, detail: { method } });
    throw err;
  }
}

export function codeFailed(
  ctx: ServiceContext,
  account: AccountRow,
  method: string,
  reason: string,
  origin: RequestOrigin,
  message: string,
): AuthFailed {
  recordActivity(ctx, account.id, 'mfa.code.failed', { origin, detail: { method, reason } });
  return new AuthFailed(message, 'wrong_code');
}

export function codeAccepted(ctx: ServiceContext, account: AccountRow, method: string, origin: RequestOrigin): void {
  recordActivity(ctx, account.id, 'mfa.code.accepted', { origin, detail: { method } });
}
