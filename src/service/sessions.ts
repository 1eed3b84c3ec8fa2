import { createHash, randomBytes } from 'node:crypto';
import { AuthFailed, Forbidden, NotFound } from '../errors.js';
import { findAccountById, type AccountRow } from '../store/accounts.js';
import { endOAuthOfAccount } from '../store/oauth-payloads.js';
import {
  findSessionByTokenHash,
  insertSession,
  listLiveSessions,
  revokeSession as revokeSessionRow,
  revokeSessionsExcept,
  touchSession,
  type SessionRow,
} from '../store/sessions.js';
import type { SessionGrant, SessionView } from '../views.js';
import type { Auth, RequestOrigin, ServiceContext } from './context.js';

const TOKEN_PREFIX = 'acs_ses_';
const HOUR = 3600_000;
/** last_seen is written at most once a minute per session: enough for a 24 h idle expiry. */
const TOUCH_EVERY_MS = 60_000;

export type { Auth } from './context.js';

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A new session: 256 random bits, stored only as their SHA-256 hash (SPEC §2 asks for >= 128). */
export function createSession(ctx: ServiceContext, account: AccountRow, origin: RequestOrigin): SessionGrant {
  const now = ctx.now();
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomBytes(6).toString('hex');
  const expiresAt = now + ctx.policy.sessionMaxDays * 24 * HOUR;
  insertSession(ctx.db, {
    id,
    account_id: account.id,
    token_hash: hashToken(token),
    created_at: now,
    last_seen_at: now,
    authenticated_at: now,
    expires_at: expiresAt,
    client: origin.client ?? null,
    ip: origin.ip ?? null,
  });
  return { token, sessionId: id, username: account.username, expiresAt: new Date(expiresAt).toISOString() };
}

export const notSignedIn = (): AuthFailed =>
  new AuthFailed('not signed in, or the session has ended; run `acctsec login`', 'not_signed_in');

function idleDeadline(ctx: ServiceContext, s: SessionRow): number {
  return s.last_seen_at + ctx.policy.sessionIdleHours * HOUR;
}

/** Resolves a bearer token to its account; refuses revoked, idle (24 h) and old (14 days) sessions. */
export function authenticate(ctx: ServiceContext, token: string | undefined): Auth {
  if (!token) throw notSignedIn();
  const session = findSessionByTokenHash(ctx.db, hashToken(token));
  const now = ctx.now();
  if (!session || session.revoked_at !== null) throw notSignedIn();
  if (session.expires_at <= now || idleDeadline(ctx, session) <= now) {
    throw new AuthFailed('the session has expired; run `acctsec login`', 'session_expired');
  }
  const account = findAccountById(ctx.db, session.account_id);
  if (!account) throw notSignedIn();
  if (account.locked_at !== null) throw new Forbidden(`the account ${account.username} is locked; contact support`);
  if (now - session.last_seen_at >= TOUCH_EVERY_MS) {
    touchSession(ctx.db, session.id, now);
    session.last_seen_at = now;
  }
  return { account, session };
}

export function sessionViews(ctx: ServiceContext, auth: Auth): SessionView[] {
  const now = ctx.now();
  return listLiveSessions(ctx.db, auth.account.id, now)
    .filter((s) => idleDeadline(ctx, s) > now)
    .map((s) => ({
      id: s.id,
      current: s.id === auth.session.id,
      client: s.client,
      ip: s.ip,
      createdAt: new Date(s.created_at).toISOString(),
      lastSeenAt: new Date(s.last_seen_at).toISOString(),
      expiresAt: new Date(Math.min(s.expires_at, idleDeadline(ctx, s))).toISOString(),
    }));
}

export function revokeOne(ctx: ServiceContext, auth: Auth, id: string): void {
  if (!revokeSessionRow(ctx.db, auth.account.id, id, ctx.now())) {
    throw new NotFound(`no active session with id ${id}; see \`acctsec sessions list\``);
  }
}

/** Every session of the account but the caller's; returns how many ended. */
export function revokeOthers(ctx: ServiceContext, auth: Auth): number {
  return endSessions(ctx, auth.account.id, auth.session.id);
}

/**
 * Ends every session of the account but `keepId` (all of them when it is null), and with them what
 * the OAuth provider holds for it: its sessions there and the applications' grants and tokens (a
 * lock, a password change or reset, a sign-out everywhere must also end an app's refresh token, or an
 * intruder who authorized an app keeps the account). Returns how many acctsec sessions ended.
 */
export function endSessions(ctx: ServiceContext, accountId: number, keepId: string | null): number {
  endOAuthOfAccount(ctx.db, accountId);
  return revokeSessionsExcept(ctx.db, accountId, keepId, ctx.now());
}
