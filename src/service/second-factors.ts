import { Conflict, InvalidInput, NotFound } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import type { EmailCodeSent, FactorChoice, MfaMethodStatus, MfaStatus } from '../views.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { emailFactor } from './email-mfa.js';
import { recordActivity } from './activity.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { recoveryCodesFactor, recoveryCodesLeft, removeRecoveryCodes } from './recovery-codes.js';
import type { Auth } from './sessions.js';
import { confirmThrottleKey, type Throttle } from './throttle.js';
import { keyFactor } from './security-keys.js';
import { totpFactor } from './totp.js';

/**
 * One interface for every second factor (totp, email, recovery, key), as Kratos's login strategies:
 * sign-in, identity confirmation and "disabling the last method" work on the list, never on
 * `if (method === 'totp')` chains. Each method module exports its implementation; `allFactors` lists them.
 */
export interface SecondFactor {
  readonly id: string;
  readonly label: string;
  /** Whether it can be used to sign in now. */
  isActive(ctx: ServiceContext, account: AccountRow): boolean;
  /** Its line in `mfa status` / `status`, or null for methods that are not listed there (recovery codes). */
  status(ctx: ServiceContext, account: AccountRow): MfaMethodStatus | null;
  /**
   * Throws AuthFailed or Throttled; returns notices to show (e.g. "3 recovery codes left"). `throttle`
   * is the throttle key of the flow asking (service/throttle.ts): sign-in, confirmation or recovery.
   */
  verify(ctx: ServiceContext, account: AccountRow, code: string, origin: RequestOrigin, throttle: Throttle): Promise<string[]>;
  /** For methods whose codes are sent (email): send one now, for sign-in or identity confirmation. */
  sendCode?(ctx: ServiceContext, account: AccountRow, origin: RequestOrigin): Promise<EmailCodeSent>;
}

/** A function, not a constant: the method modules import this one, and a cycle must not see a half-built list. */
export function allFactors(): SecondFactor[] {
  return [totpFactor, emailFactor, keyFactor, recoveryCodesFactor];
}

/** Recovery codes are a fallback, not a method of their own: they never make a method "the last". */
export const FALLBACK = 'recovery';

export function activeFactors(ctx: ServiceContext, account: AccountRow): SecondFactor[] {
  return allFactors().filter((f) => f.isActive(ctx, account));
}

/** The active methods that can confirm identity: every one but recovery codes, which are kept for sign-in. */
export function identityFactors(ctx: ServiceContext, account: AccountRow): SecondFactor[] {
  return activeFactors(ctx, account).filter((f) => f.id !== FALLBACK);
}

/**
 * The seed's rule for enabling a method: the password when no other method is active; otherwise a code
 * of an active one (an authenticator code to enable email codes, an email code to enable the app).
 */
export function enableIdentityRule(ctx: ServiceContext, account: AccountRow, methodId: string): { password: boolean; methods?: string[] } {
  const others = identityFactors(ctx, account)
    .map((f) => f.id)
    .filter((id) => id !== methodId);
  return others.length > 0 ? { password: false, methods: others } : { password: true };
}

/** Sends a code of a method that sends them (email), for sign-in or identity confirmation. */
export async function sendFactorCode(ctx: ServiceContext, account: AccountRow, methodId: string, origin: RequestOrigin): Promise<EmailCodeSent> {
  const factor = identityFactors(ctx, account).find((f) => f.id === methodId);
  if (!factor?.sendCode) {
    throw new NotFound(`"${methodId}" is not an active method that sends codes${methodId === 'totp' ? ': read the code from the app' : ''}`);
  }
  return factor.sendCode(ctx, account, origin);
}

/**
 * SPEC §4.4: disabling the last method leaves the password alone, so it needs an explicit yes.
 * Returns the methods that stay active.
 */
export function assertMayDisable(ctx: ServiceContext, account: AccountRow, methodId: string, acknowledgeLast: boolean): string[] {
  const remaining = identityFactors(ctx, account)
    .map((f) => f.id)
    .filter((id) => id !== methodId);
  if (remaining.length === 0 && !acknowledgeLast) {
    throw new InvalidInput(
      `${methodId} is your last second factor: without it, sign-in falls back to the password alone; confirm with --yes`,
      '--yes',
    );
  }
  return remaining;
}

export function factorChoices(factors: SecondFactor[]): FactorChoice[] {
  return factors.map((f) => ({ id: f.id, label: f.label }));
}

/** `mfa status`: every method with its state, and the recovery codes left. */
export function mfaOverview(ctx: ServiceContext, account: AccountRow): MfaStatus {
  const methods = allFactors().flatMap((f) => {
    const s = f.status(ctx, account);
    return s ? [s] : [];
  });
  return { methods, recoveryCodesLeft: recoveryCodesLeft(ctx, account) };
}

/**
 * SPEC §4.4, for every method: active, a current code of the method, an explicit yes for the last
 * one; then the method's own removal, recovery codes too when no method is left, the log and a notice.
 */
export async function disableMethod(
  ctx: ServiceContext,
  auth: Auth,
  method: { factor: SecondFactor; name: string; remove: () => void },
  code: string,
  acknowledgeLast: boolean,
  origin: RequestOrigin,
): Promise<{ disabled: true; remainingMethods: string[] }> {
  const a = auth.account;
  const { factor } = method;
  if (!factor.isActive(ctx, a)) throw new Conflict(`${method.name} ${method.name.endsWith('s') ? 'are' : 'is'} not active; nothing to disable`);
  const remaining = assertMayDisable(ctx, a, factor.id, acknowledgeLast);
  await factor.verify(ctx, a, code, origin, confirmThrottleKey(a.id, auth.session.id));
  ctx.db
    .transaction(() => {
      method.remove();
      // With no method left, recovery codes would be a second factor on their own: they go too.
      if (remaining.length === 0) removeRecoveryCodes(ctx, a);
      recordActivity(ctx, a.id, `mfa.${factor.id}.disabled`, { origin, sessionId: auth.session.id, detail: { remainingMethods: remaining } });
    })
    .immediate();
  await notifySecurity(ctx, a, securityNotice(ctx, a, `${method.name} ${method.name.endsWith('s') ? 'were' : 'was'} turned off as a second factor`, origin));
  return { disabled: true, remainingMethods: remaining };
}
