import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { AuthFailed, Conflict, InvalidInput, NotFound, Throttled } from '../errors.js';
import { addressGroup } from '../ip-address.js';
import { isQrSecret, QR_METHOD, QR_PAGE_PATH, QR_SECRET_PREFIX, recoveryQrText } from '../recovery-qr-text.js';
import { findAccountById, findAccountByUsername, setPassword, type AccountRow } from '../store/accounts.js';
import {
  approveQrRequest,
  findLiveRecoveryQrByHash,
  findQrRequestByHandle,
  finishQrRequest,
  countWaitingQrRequestsFrom,
  insertQrRequest,
  liveRecoveryQr,
  pendingQrRequests,
  replaceRecoveryQr,
  useRecoveryQr,
  voidRecoveryQr,
  type RecoveryQrRow,
} from '../store/recovery-qr.js';
import type {
  IdentityProof,
  QrPendingRequests,
  QrRecoveryRequest,
  QrRecoveryState,
  RecoveryQrCreated,
  RecoveryQrStatus,
} from '../views.js';
import { recordActivity } from './activity.js';
import type { Auth, RequestOrigin, ServiceContext } from './context.js';
import { normalizeUsername } from './credentials.js';
import { confirmIdentity } from './identity.js';
import { notifyAllAddresses, notifySecurity, securityNotice } from './notifications.js';
import { checkNewPassword } from './password-policy.js';
import { endSessions } from './sessions.js';
import { recoveryThrottle, throttledCheck, type Throttle } from './throttle.js';

// Recovery QR codes (issue #20 §1): a printed code holding a single-use secret of 256 bits, of which
// the store keeps only the SHA-256 (a secret that strong needs no slow hash, as tokens). It counts as
// a recovery credential, like a recovery code: used once (an atomic conditional UPDATE), under the
// recovery throttle, announced to the owner, logged; it sets a new password and ends every session,
// and never signs in, so second factors still apply at the next sign-in.

/** How long a phone request waits for its approval and then for the CLI to finish it. */
export const QR_REQUEST_TTL_MS = 10 * 60_000;

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// The matching phrase both screens show: short words anyone can read out and compare.
const WORDS = (
  'amber anchor apple arrow aspen badge bamboo basil beacon berry birch bison cactus candle canyon cedar ' +
  'cobalt comet coral cotton crane daisy delta desert dolphin dune eagle ember falcon fern fig flint ' +
  'forest fox garnet ginger glacier grape harbor hazel heron honey indigo iris ivory jade jasmine kettle ' +
  'koala lagoon lemon lilac linen lotus maple marble meadow mint moss nectar olive onyx orchid otter ' +
  'pebble pepper pine plum quartz quill raven reef river robin saffron sage salmon sparrow spruce ' +
  'summit tiger topaz tulip velvet walnut willow zebra'
).split(' ');

function matchingPhrase(): string {
  return [0, 1, 2].map(() => WORDS[randomInt(WORDS.length)]).join('-');
}

function newQrSecret(): string {
  return QR_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * `recovery qr create`: identity first (a sensitive change, SPEC §2); the new code voids the old one.
 * `pageOrigin`: the server's public origin, when it names one: the code then opens its approval page.
 */
export async function createRecoveryQr(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
  pageOrigin: string | undefined,
): Promise<RecoveryQrCreated> {
  const a = auth.account;
  await confirmIdentity(ctx, auth, proof, origin);
  const secret = newQrSecret();
  const now = ctx.now();
  const replaced = ctx.db
    .transaction(() => {
      const had = liveRecoveryQr(ctx.db, a.id) !== undefined;
      replaceRecoveryQr(ctx.db, a.id, sha256(secret), now);
      recordActivity(ctx, a.id, 'recovery_qr.created', {
        origin,
        sessionId: auth.session.id,
        detail: { replaced: had },
      });
      return had;
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(
      ctx,
      a,
      replaced
        ? 'a new recovery QR code was created (the earlier one no longer works)'
        : 'a recovery QR code was created',
      origin,
    ),
  );
  return {
    text: recoveryQrText(secret, pageOrigin),
    phone: pageOrigin !== undefined,
    createdAt: new Date(now).toISOString(),
    replaced,
  };
}

export function recoveryQrStatus(ctx: ServiceContext, account: AccountRow): RecoveryQrStatus {
  const live = liveRecoveryQr(ctx.db, account.id);
  return { exists: live !== undefined, createdAt: live ? new Date(live.created_at).toISOString() : null };
}

/** `recovery qr revoke`: a sensitive change (it removes a way back into the account). */
export async function revokeRecoveryQr(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<{ revoked: true; createdAt: string }> {
  const a = auth.account;
  const live = liveRecoveryQr(ctx.db, a.id);
  if (!live) throw new Conflict('there is no recovery QR code to revoke (`acctsec recovery qr create` makes one)');
  await confirmIdentity(ctx, auth, proof, origin);
  const revoked = ctx.db
    .transaction(() => {
      const done = voidRecoveryQr(ctx.db, a.id, ctx.now());
      if (done) recordActivity(ctx, a.id, 'recovery_qr.revoked', { origin, sessionId: auth.session.id });
      return done;
    })
    .immediate();
  if (!revoked) throw new Conflict('there is no recovery QR code to revoke (`acctsec recovery qr create` makes one)');
  await notifySecurity(ctx, a, securityNotice(ctx, a, 'your recovery QR code was revoked', origin));
  return { revoked: true, createdAt: new Date(live.created_at).toISOString() };
}

// ---------------------------------------------------------------------------------------------------
// Recovering with the code.

const WRONG_CODE = 'wrong or no longer valid recovery QR code';

/**
 * `recover --method qr` with the code's secret (from a photo of the sheet, or its text). One answer for
 * every refusal, whether or not the account exists or has a code, under the recovery throttle.
 */
async function recoverWithSecret(
  ctx: ServiceContext,
  name: string,
  secret: string,
  newPassword: string,
  origin: RequestOrigin,
): Promise<{ username: string; revokedSessions: number }> {
  const wrong = new AuthFailed(WRONG_CODE, 'wrong_code');
  const account = findAccountByUsername(ctx.db, name);
  const live = await throttledCheck(ctx.db, recoveryThrottle(name, origin.ip), ctx.now, 'recovery attempts', () => {
    const row = account ? liveRecoveryQr(ctx.db, account.id) : undefined;
    // Compared in constant time, and hashed whatever the outcome, so no path is quicker than another.
    const given = sha256(secret);
    if (!row || !isQrSecret(secret) || !sameHash(given, row.secret_hash)) throw wrong;
    return row;
  });
  return setRecoveredPassword(ctx, account!, newPassword, origin, 'recovery-qr', () => {
    // Single use under concurrency: only one caller's UPDATE finds the code unused.
    if (!useRecoveryQr(ctx.db, live.id, ctx.now())) throw wrong;
  });
}

/** The password, the end of every session, the log and the notice: what every QR recovery ends with. */
async function setRecoveredPassword(
  ctx: ServiceContext,
  account: AccountRow,
  newPassword: string,
  origin: RequestOrigin,
  via: string,
  take: () => void,
): Promise<{ username: string; revokedSessions: number }> {
  const hash = await ctx.hasher.hash(newPassword);
  const revoked = ctx.db
    .transaction(() => {
      take();
      setPassword(ctx.db, account.id, hash, ctx.now());
      const n = endSessions(ctx, account.id, null);
      recordActivity(ctx, account.id, 'recovery_qr.used', { origin, detail: { via } });
      recordActivity(ctx, account.id, 'password.recovered', { origin, detail: { via, revokedSessions: n } });
      return n;
    })
    .immediate();
  await notifyAllAddresses(
    ctx,
    account,
    securityNotice(
      ctx,
      account,
      'your recovery QR code was used: your password was reset, and every session signed out (the code no longer works)',
      origin,
    ),
  );
  return { username: account.username, revokedSessions: revoked };
}

/**
 * `recover --method qr` (`method` qr: `code` is the code's secret; qr-phone: the handle of a request a
 * phone approved). The password policy first, the same for every name, as recover by email does.
 */
export async function recoverWithQr(
  ctx: ServiceContext,
  input: { username: string; code: string; newPassword: string; method?: string | undefined },
  origin: RequestOrigin,
): Promise<{ username: string; revokedSessions: number }> {
  const name = normalizeUsername(input.username);
  await checkNewPassword({ password: input.newPassword, username: name, minLength: ctx.policy.passwordMinLength });
  if (input.method === QR_METHOD) return recoverWithSecret(ctx, name, input.code.trim(), input.newPassword, origin);
  const wrong = new AuthFailed(
    'this recovery request was not approved, or has expired; run the command again',
    'wrong_code',
  );
  const account = findAccountByUsername(ctx.db, name);
  const request = await throttledCheck(ctx.db, recoveryThrottle(name, origin.ip), ctx.now, 'recovery attempts', () => {
    const row = findQrRequestByHandle(ctx.db, sha256(input.code));
    if (
      !account ||
      !row ||
      row.account_id !== account.id ||
      row.approved_at === null ||
      row.finished_at !== null ||
      row.expires_at <= ctx.now()
    )
      throw wrong;
    return row;
  });
  return setRecoveredPassword(ctx, account!, input.newPassword, origin, 'recovery-qr-phone', () => {
    // The request once, and the code that approved it once (unless used, replaced or revoked meanwhile).
    if (!finishQrRequest(ctx.db, request.id, ctx.now()) || !useRecoveryQr(ctx.db, request.qr_id!, ctx.now()))
      throw wrong;
  });
}

// ---------------------------------------------------------------------------------------------------
// The phone's way: the CLI opens a request; the phone that scans the code approves it on the server's page.

/**
 * Opens a request for `username`. The same answer, with the same work, for every name: a request for an
 * account that does not exist is stored too, and simply never approved.
 */
/** Waiting phone requests one client address may have at once (review of issue #20 §1). */
export const QR_REQUESTS_PER_ADDRESS = 5;

export function beginQrRecovery(
  ctx: ServiceContext,
  username: string,
  origin: RequestOrigin,
  pageOrigin: string | undefined,
): QrRecoveryRequest {
  if (!pageOrigin)
    // A usage error, not an outage: this server was set up without the page; the other ways work.
    throw new InvalidInput(
      'this server names no public address (--public-url), so a phone cannot reach its approval page; use --qr-image or --qr-text',
      'method',
      'no_qr_page',
    );
  const name = normalizeUsername(username);
  if (name === '') throw new InvalidInput('invalid username "": give the account to recover', 'username');
  const account = findAccountByUsername(ctx.db, name);
  const handle = randomBytes(32).toString('base64url');
  const now = ctx.now();
  const row = {
    id: randomBytes(12).toString('base64url'),
    handle_hash: sha256(handle),
    account_id: account?.id ?? null,
    phrase: matchingPhrase(),
    ip: origin.ip ?? null,
    client: origin.client ?? null,
    created_at: now,
    expires_at: now + QR_REQUEST_TTL_MS,
  };
  ctx.db
    .transaction(() => {
      // Opening a request costs nothing and proves nothing: one client address may have only a few
      // waiting at once, so nobody floods the table or buries an owner's request on the page.
      if (row.ip !== null && countWaitingQrRequestsFrom(ctx.db, row.ip, now) >= QR_REQUESTS_PER_ADDRESS)
        throw new Throttled(
          `too many recovery requests waiting from this address (${QR_REQUESTS_PER_ADDRESS}); try again when they expire`,
          Math.ceil(QR_REQUEST_TTL_MS / 1000),
        );
      insertQrRequest(ctx.db, row);
    })
    .immediate();
  return {
    requestId: handle,
    phrase: row.phrase,
    page: `${pageOrigin}${QR_PAGE_PATH}`,
    expiresAt: new Date(row.expires_at).toISOString(),
  };
}

/** What the CLI waits for. An unknown handle reads as expired. */
export function qrRecoveryState(ctx: ServiceContext, handle: string): QrRecoveryState {
  const row = findQrRequestByHandle(ctx.db, sha256(handle));
  if (!row || row.finished_at !== null || row.expires_at <= ctx.now()) return { state: 'expired' };
  return { state: row.approved_at !== null ? 'approved' : 'waiting' };
}

/** The page's calls are throttled per client address group: they know no username, only the secret. */
function pageThrottle(origin: RequestOrigin): Throttle {
  return `recover-qr-page:${origin.ip ? addressGroup(origin.ip) : 'local'}`;
}

function liveCodeOf(ctx: ServiceContext, secret: string): RecoveryQrRow {
  const row = isQrSecret(secret) ? findLiveRecoveryQrByHash(ctx.db, sha256(secret)) : undefined;
  if (!row || !sameHash(sha256(secret), row.secret_hash))
    throw new AuthFailed(
      'this recovery QR code is not valid: it was used, replaced or revoked (or the link was cut short)',
      'wrong_code',
    );
  return row;
}

/** The approval page: the account of the code, and its requests waiting (time, address, phrase). */
export async function qrPendingRequests(
  ctx: ServiceContext,
  secret: string,
  origin: RequestOrigin,
): Promise<QrPendingRequests> {
  const code = await throttledCheck(ctx.db, pageThrottle(origin), ctx.now, 'recovery attempts', () =>
    liveCodeOf(ctx, secret),
  );
  const account = findAccountById(ctx.db, code.account_id)!;
  return {
    username: account.username,
    requests: pendingQrRequests(ctx.db, account.id, ctx.now()).map((r) => ({
      id: r.id,
      createdAt: new Date(r.created_at).toISOString(),
      ip: r.ip,
      client: r.client,
      phrase: r.phrase,
      expiresAt: new Date(r.expires_at).toISOString(),
    })),
  };
}

/**
 * The page's approval, a POST with the code's secret (so no other site can make a visitor's browser
 * approve anything: it does not have the secret). A made-up, expired or already approved request id
 * gets the one same answer. The code itself is used when the CLI sets the new password: a password the
 * policy refuses, or a CLI that gives up, leaves the printed code valid.
 */
export async function approveQrRecovery(
  ctx: ServiceContext,
  secret: string,
  requestId: string,
  origin: RequestOrigin,
): Promise<{ approved: true; username: string }> {
  const code = await throttledCheck(ctx.db, pageThrottle(origin), ctx.now, 'recovery attempts', () =>
    liveCodeOf(ctx, secret),
  );
  const account = findAccountById(ctx.db, code.account_id)!;
  ctx.db
    .transaction(() => {
      if (!approveQrRequest(ctx.db, requestId, code, origin.ip ?? null, ctx.now()))
        throw new NotFound('no such recovery request waiting: it has expired or was never made', 'no_request');
      recordActivity(ctx, account.id, 'recovery_qr.approved', { origin });
    })
    .immediate();
  await notifyAllAddresses(
    ctx,
    account,
    securityNotice(ctx, account, 'a password reset was approved with your recovery QR code', origin),
  );
  return { approved: true, username: account.username };
}
