import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { Throttled } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import {
  addEmailCodeFailure,
  consumeEmailCode,
  deleteEmailCodes,
  findEmailCode,
  putEmailCode,
  voidEmailCode,
  type EmailCodeRow,
} from '../store/email.js';
import { recordActivity } from './activity.js';
import type { Throttle } from './throttle.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { databaseKey } from './encryption.js';
import { renderMessage, type MessageBody } from './messages.js';
import { mailFormat } from './notifications.js';
import { codeAccepted, codeCheck, codeFailed } from './code-attempts.js';

// Emailed one-time codes (SPEC §4.2), the same rules for every use: sign-in, enabling, disabling,
// address confirmation, recovery. 6 digits, 10 minutes, single use; a new code voids the previous one
// without resetting the count of wrong tries; 5 wrong tries void a code; while a code is outstanding,
// a new one only 60 s after it was sent.

export const CODE_LIFE_MS = 10 * 60_000;
export const RESEND_AFTER_MS = 60_000;
export const TRIES_PER_CODE = 5;

/** An HMAC under the at-rest key: a copy of the database alone cannot be brute-forced for codes. */
function codeHash(ctx: ServiceContext, accountId: number, purpose: string, code: string): Buffer {
  return createHmac('sha256', databaseKey(ctx.db, ctx.keyring)).update(`${accountId}:${purpose}:${code}`).digest();
}

/**
 * The 60 s between two sends protects the mailbox from a flood, so it holds only while the last code
 * is still outstanding (unused, not void, not expired): a code that was used, voided or has expired
 * is not "on its way", and a new one may be sent at once (issue #17). Voiding takes 5 wrong tries,
 * which count in the code throttle, so that path cannot be used to flood the mailbox either.
 */
export function resendWait(ctx: ServiceContext, row: EmailCodeRow | undefined): number {
  if (!row || row.code_hash === null || row.expires_at <= ctx.now()) return 0;
  return Math.max(0, row.sent_at + RESEND_AFTER_MS - ctx.now());
}

/**
 * Sends a fresh code for `purpose` to `to`. Refused (exit 6) within 60 s of the previous send. If the
 * message cannot be delivered (exit 8), the previous state is put back: no code the user never got.
 */
export async function sendEmailCode(
  ctx: ServiceContext,
  account: AccountRow,
  purpose: string,
  to: string[],
  message: (code: string) => MessageBody,
): Promise<{ expiresAt: string }> {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const mine = codeHash(ctx, account.id, purpose, code);
  // The look and the new row in one write transaction: two requests at once (two processes, two server
  // instances) would otherwise both find no code on its way, and both send one.
  const { before, now } = ctx.db
    .transaction(() => {
      const before = findEmailCode(ctx.db, account.id, purpose);
      const wait = resendWait(ctx, before);
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        throw new Throttled(
          `a new code can be requested ${seconds} s from now (one a minute); the last one is still on its way`,
          seconds,
        );
      }
      const now = ctx.now();
      putEmailCode(ctx.db, account.id, purpose, mine, now, now + CODE_LIFE_MS);
      return { before, now };
    })
    .immediate();
  try {
    await ctx.mailer.send(renderMessage(to, mailFormat(ctx, account), message(code)));
  } catch (err) {
    // Put back what was there, unless the row is no longer ours: a send slower than the minute between
    // codes lets another request store (and mail) a newer code, which must keep working.
    ctx.db
      .transaction(() => {
        const current = findEmailCode(ctx.db, account.id, purpose);
        if (!current?.code_hash || !current.code_hash.equals(mine)) return;
        if (before) putEmailCode(ctx.db, account.id, purpose, before.code_hash, before.sent_at, before.expires_at);
        else deleteEmailCodes(ctx.db, account.id, purpose);
      })
      .immediate();
    throw err;
  }
  recordActivity(ctx, account.id, 'email_code.sent', { detail: { purpose, to: to.length } });
  return { expiresAt: new Date(now + CODE_LIFE_MS).toISOString() };
}

/** Checks and consumes a code; wrong tries count for the code and for the throttle `key` of the flow. */
export function checkEmailCode(
  ctx: ServiceContext,
  account: AccountRow,
  purpose: string,
  typed: string,
  origin: RequestOrigin,
  key: Throttle,
): Promise<void> {
  return codeCheck(ctx, account, 'email', origin, key, () => {
    const row = findEmailCode(ctx.db, account.id, purpose);
    if (!row || !row.code_hash || row.expires_at <= ctx.now()) {
      throw codeFailed(
        ctx,
        account,
        'email',
        'no-live-code',
        origin,
        'no valid emailed code: it expired (10 minutes), was used, or was replaced; request a new one',
      );
    }
    const code = typed.replace(/\s+/g, '');
    const hash = codeHash(ctx, account.id, purpose, code);
    if (
      /^\d{6}$/.test(code) &&
      timingSafeEqual(hash, row.code_hash) &&
      consumeEmailCode(ctx.db, account.id, purpose, hash)
    ) {
      codeAccepted(ctx, account, 'email', origin);
      return;
    }
    const failures = addEmailCodeFailure(ctx.db, account.id, purpose);
    if (failures >= TRIES_PER_CODE) {
      voidEmailCode(ctx.db, account.id, purpose);
      throw codeFailed(
        ctx,
        account,
        'email',
        'wrong-void',
        origin,
        `wrong code; after ${TRIES_PER_CODE} wrong tries the code is void: request a new one`,
      );
    }
    throw codeFailed(ctx, account, 'email', 'wrong', origin, 'wrong code');
  });
}
