import { randomInt } from 'node:crypto';
import type { AccountRow } from '../store/accounts.js';
import {
  countRecoveryCodes,
  countUnusedRecoveryCodes,
  deleteRecoveryCodes,
  insertRecoveryCode,
} from '../store/recovery-codes.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { databaseKey, seal } from './encryption.js';

// The set of recovery codes (SPEC §5): 10 a set, single use. What other modules need of it (the factors
// that issue a set at their first enrolment, the count and the low-water notice) lives here, apart from
// the factor itself (recovery-codes.ts), so that no module imports a factor (issue #16).

export const CODES_PER_SET = 10;
/** Crockford's base32 alphabet: no i, l, o or u, so nothing reads as something else. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** 16 characters of 5 bits: 80 random bits, above the 64 of NIST SP 800-63B rev 4. */
const LENGTH = 16;
export const LOW_WATER = 3;

export function generateRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}

/** `abcd-efgh-jkmn-pqrs`: grouped for typing. */
export function formatRecoveryCode(canonical: string): string {
  return canonical.match(/.{4}/g)!.join('-');
}

/** What the user typed, in canonical form: case, spaces and dashes ignored; o, i and l read as 0, 1, 1. */
export function canonicalRecoveryCode(typed: string): string | null {
  const c = typed.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
  return c.length === LENGTH && [...c].every((ch) => ALPHABET.includes(ch)) ? c : null;
}

/** The AES-GCM associated data of an account's codes. */
export function recoveryCodeContext(accountId: number): string {
  return `recovery:${accountId}`;
}

/** A new set: voids every earlier code. Returns the codes to show once. Call inside a transaction. */
export function issueRecoveryCodes(ctx: ServiceContext, account: AccountRow, origin: RequestOrigin): string[] {
  const key = databaseKey(ctx.db, ctx.keyring);
  const voided = deleteRecoveryCodes(ctx.db, account.id);
  const codes = Array.from({ length: CODES_PER_SET }, generateRecoveryCode);
  for (const code of codes)
    insertRecoveryCode(ctx.db, account.id, seal(key, Buffer.from(code), recoveryCodeContext(account.id)), ctx.now());
  recordActivity(ctx, account.id, 'recovery_codes.issued', { origin, detail: { count: codes.length, voided } });
  return codes.map(formatRecoveryCode);
}

export function recoveryCodesLeft(ctx: ServiceContext, account: AccountRow): number | null {
  return countRecoveryCodes(ctx.db, account.id) === 0 ? null : countUnusedRecoveryCodes(ctx.db, account.id);
}

export function lowRecoveryCodesNotice(left: number): string | null {
  if (left > LOW_WATER) return null;
  return `only ${left} recovery code${left === 1 ? '' : 's'} left: run \`acctsec recovery-codes regenerate\` for a new set`;
}
