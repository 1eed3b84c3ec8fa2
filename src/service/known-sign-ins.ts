import { createHmac, hkdfSync } from 'node:crypto';
import type { AccountRow } from '../store/accounts.js';
import {
  hasKnownSignIns,
  pruneKnownSignIns,
  rememberSignIn,
  seenSince,
  type SignInSourceKind,
} from '../store/known-sign-ins.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { databaseKey } from './encryption.js';
import { notifySecurity, securityNotice } from './notifications.js';

// Issue #20 §4: a sign-in from a device or an address new to the account in the last 90 days sends a
// security notice. What was seen is kept as an HMAC under a key derived from the at-rest key, with the
// account's id in the message: the table alone tells neither the devices nor the addresses, and the
// same device gives unrelated values for two accounts. The first sign-in an account ever makes (`init`,
// or the first after `admin users create`) is recorded without a notice: there is nothing it could
// be new against, and the owner has just been told of the account by other means.

const DAY = 24 * 3600_000;
/** A device or address not seen for this long is new again (issue #20 §4: 90 days). */
export const KNOWN_FOR_MS = 90 * DAY;

function fingerprintKey(ctx: ServiceContext): Buffer {
  return Buffer.from(
    hkdfSync('sha256', databaseKey(ctx.db, ctx.keyring), Buffer.alloc(0), 'acctsec known sign-ins v1', 32),
  );
}

/**
 * The device a client names: its description with version numbers taken out ("acctsec/1.4.0 on
 * laptop (profile work)" is the same device after an upgrade), or null when it names none.
 */
export function deviceOf(client: string | undefined | null): string | null {
  if (!client) return null;
  const device = client
    .replace(/\/[0-9][^\s;)]*/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  return device || null;
}

export interface NewSignInSource {
  device: boolean;
  address: boolean;
}

/**
 * Records where a sign-in came from, inside its transaction; returns what was new (null for an
 * account's first sign-in ever, which is not "new" to anything). Prunes the account's old rows.
 */
export function rememberSignInSource(
  ctx: ServiceContext,
  account: AccountRow,
  origin: RequestOrigin,
): NewSignInSource | null {
  const now = ctx.now();
  const since = now - KNOWN_FOR_MS;
  const first = !hasKnownSignIns(ctx.db, account.id);
  const key = fingerprintKey(ctx);
  const fresh: NewSignInSource = { device: false, address: false };
  const sources: [SignInSourceKind, string | null][] = [
    ['device', deviceOf(origin.client)],
    ['address', origin.ip ? origin.ip.toLowerCase() : null],
  ];
  for (const [kind, value] of sources) {
    if (value === null) continue;
    const fingerprint = createHmac('sha256', key).update(`${account.id}\n${kind}\n${value}`).digest();
    if (!seenSince(ctx.db, account.id, kind, fingerprint, since)) fresh[kind] = true;
    rememberSignIn(ctx.db, account.id, kind, fingerprint, now);
  }
  pruneKnownSignIns(ctx.db, account.id, since);
  return first ? null : fresh;
}

/**
 * At a successful sign-in, inside its transaction: remembers the source, and when it is new logs it
 * and queues the notice. The notice goes after the answer (ctx.background), so sign-in is not slowed
 * by mail and its time says nothing.
 */
export function noticeNewSignInSource(
  ctx: ServiceContext,
  account: AccountRow,
  origin: RequestOrigin,
  sessionId: string,
): void {
  const fresh = rememberSignInSource(ctx, account, origin);
  if (!fresh || (!fresh.device && !fresh.address)) return;
  recordActivity(ctx, account.id, 'signin.new_source', {
    origin,
    sessionId,
    detail: { newDevice: fresh.device, newAddress: fresh.address, ...(origin.client ? { client: origin.client } : {}) },
  });
  const what = [
    fresh.device ? `a new device${origin.client ? ` (${origin.client})` : ''}` : null,
    fresh.address ? `a new address (${origin.ip})` : null,
  ]
    .filter((x): x is string => x !== null)
    .join(' and ');
  const notice = securityNotice(
    ctx,
    account,
    `a sign-in from ${what}, not seen on your account in the last 90 days`, // The address is named by `what` when it is new, else as where the sign-in came from.
    fresh.address ? {} : { ip: origin.ip },
  );
  ctx.background.run('a new sign-in notice', () => notifySecurity(ctx, account, notice));
}
