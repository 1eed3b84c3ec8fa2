import { Conflict, NotFound } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import type { EmailCodeSent, MfaStatus } from '../views.js';
import { recordActivity } from './activity.js';
import type { Auth, RequestOrigin, SecondFactor, ServiceContext } from './context.js';
import { assertMayDisable, identityFactors, removeFallbacks } from './factor-list.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { recoveryCodesLeft } from './recovery-code-set.js';
import { confirmThrottleKey } from './throttle.js';
import { inRepairWindow, repairDetail, repairNote } from './repair-window.js';

// Operations on an account's second factors as a whole, over the registry in `ctx.factors`: sending a
// code, the overview, disabling a method, and support's reset. No factor is imported here.

/** Sends a code of a method that sends them (email), for sign-in or identity confirmation. */
export async function sendFactorCode(
  ctx: ServiceContext,
  account: AccountRow,
  methodId: string,
  origin: RequestOrigin,
): Promise<EmailCodeSent> {
  const factor = identityFactors(ctx, account).find((f) => f.id === methodId);
  if (!factor?.sendCode) {
    const known = ctx.factors.find((f) => f.id === methodId);
    const hint = known?.authenticator && known.answer === 'code' ? `: read the code from ${known.name}` : '';
    throw new NotFound(`"${methodId}" is not an active method that sends codes${hint}`);
  }
  return factor.sendCode(ctx, account, origin);
}

/** `mfa status`: every method with its state, and the recovery codes left. */
export function mfaOverview(ctx: ServiceContext, account: AccountRow): MfaStatus {
  const methods = ctx.factors.flatMap((f) => {
    const s = f.status(ctx, account);
    return s ? [s] : [];
  });
  return { methods, recoveryCodesLeft: recoveryCodesLeft(ctx, account) };
}

/**
 * SPEC §4.4, for every method: active, a current code of the method, an explicit yes for the last
 * one; then the method's own removal, the fallbacks too when no method is left, the log and a notice.
 */
export async function disableMethod(
  ctx: ServiceContext,
  auth: Auth,
  factor: SecondFactor,
  code: string,
  acknowledgeLast: boolean,
  origin: RequestOrigin,
): Promise<{ disabled: true; remainingMethods: string[] }> {
  const a = auth.account;
  const plural = factor.name.endsWith('s');
  if (!factor.isActive(ctx, a))
    throw new Conflict(`${factor.name} ${plural ? 'are' : 'is'} not active; nothing to disable`);
  const remaining = assertMayDisable(ctx, a, factor.id, acknowledgeLast);
  // Issue #20 §2: in the repair window the lost factor's code is not asked for.
  if (!inRepairWindow(ctx, auth)) await factor.verify(ctx, a, code, origin, confirmThrottleKey(a.id, auth.session.id));
  ctx.db
    .transaction(() => {
      factor.removeAll(ctx, a.id);
      if (remaining.length === 0) removeFallbacks(ctx, a.id);
      recordActivity(ctx, a.id, `mfa.${factor.id}.disabled`, {
        origin,
        sessionId: auth.session.id,
        detail: { remainingMethods: remaining, ...repairDetail(ctx, auth) },
      });
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(
      ctx,
      a,
      `${factor.name} ${plural ? 'were' : 'was'} turned off as a second factor${repairNote(ctx, auth)}`,
      origin,
    ),
  );
  return { disabled: true, remainingMethods: remaining };
}

/** `admin reset-mfa`: every credential of every method, pending ones included, gone. Inside a transaction; the caller logs. */
export function removeAllFactors(ctx: ServiceContext, accountId: number): void {
  for (const f of ctx.factors) f.removeAll(ctx, accountId);
}
