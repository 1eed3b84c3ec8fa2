import type { AccountRow } from '../store/accounts.js';
import type { FactorChoice, MfaMethodStatus } from '../views.js';
import type { RequestOrigin, ServiceContext } from './context.js';

/**
 * One interface for every second factor (totp, email, recovery, key), as Kratos's login strategies:
 * sign-in, identity confirmation and "disabling the last method" work on the list, never on
 * `if (method === 'totp')` chains. Each method module registers itself in `secondFactors`.
 */
export interface SecondFactor {
  readonly id: string;
  readonly label: string;
  /** Whether it can be used to sign in now. */
  isActive(ctx: ServiceContext, account: AccountRow): boolean;
  /** Its line in `mfa status` / `status`, or null for methods that are not listed there (recovery codes). */
  status(ctx: ServiceContext, account: AccountRow): MfaMethodStatus | null;
  /** Throws AuthFailed or Throttled; returns notices to show (e.g. "3 recovery codes left"). */
  verify(ctx: ServiceContext, account: AccountRow, code: string, origin: RequestOrigin): Promise<string[]>;
}

export const secondFactors: SecondFactor[] = [];

export function activeFactors(ctx: ServiceContext, account: AccountRow): SecondFactor[] {
  return secondFactors.filter((f) => f.isActive(ctx, account));
}

export function factorChoices(factors: SecondFactor[]): FactorChoice[] {
  return factors.map((f) => ({ id: f.id, label: f.label }));
}

export function mfaStatus(ctx: ServiceContext, account: AccountRow): MfaMethodStatus[] {
  return secondFactors.flatMap((f) => {
    const s = f.status(ctx, account);
    return s ? [s] : [];
  });
}
