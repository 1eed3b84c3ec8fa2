import { InvalidInput } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import type { FactorChoice } from '../views.js';
import type { SecondFactor, ServiceContext } from './context.js';

// Questions about an account's second factors, answered from the registry in `ctx.factors`
// (service/factors.ts builds it). This module imports no factor: every factor may import it.

export function activeFactors(ctx: ServiceContext, account: AccountRow): SecondFactor[] {
  return ctx.factors.filter((f) => f.isActive(ctx, account));
}

/** The active methods that can confirm identity: every one but the fallback (recovery codes), kept for sign-in. */
export function identityFactors(ctx: ServiceContext, account: AccountRow): SecondFactor[] {
  return activeFactors(ctx, account).filter((f) => f.confirmsIdentity);
}

/**
 * The seed's rule for enabling a method: the password when no other method is active; otherwise a code
 * of an active one (an authenticator code to enable email codes, an email code to enable the app).
 */
export function enableIdentityRule(
  ctx: ServiceContext,
  account: AccountRow,
  methodId: string,
): { password: boolean; methods?: string[] } {
  const others = identityFactors(ctx, account)
    .map((f) => f.id)
    .filter((id) => id !== methodId);
  return others.length > 0 ? { password: false, methods: others } : { password: true };
}

/**
 * SPEC §4.4: disabling the last method leaves the password alone, so it needs an explicit yes.
 * Returns the methods that stay active.
 */
export function assertMayDisable(
  ctx: ServiceContext,
  account: AccountRow,
  methodId: string,
  acknowledgeLast: boolean,
): string[] {
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

/** With no method left, the fallbacks (recovery codes) would be a second factor on their own: they go too. Inside a transaction. */
export function removeFallbacks(ctx: ServiceContext, accountId: number): void {
  for (const f of ctx.factors) if (!f.confirmsIdentity) f.removeAll(ctx, accountId);
}

export function factorChoices(factors: SecondFactor[]): FactorChoice[] {
  return factors.map((f) => ({ id: f.id, label: f.label }));
}
