import { createHash } from 'node:crypto';
import {
  AcctsecError,
  AuthFailed,
  Conflict,
  Forbidden,
  InvalidInput,
  NotFound,
  retryPhrase,
  Throttled,
} from '../errors.js';
import {
  findAccountById,
  findAccountByUsername,
  insertAccount,
  setPassword,
  type AccountRow,
  type Role,
} from '../store/accounts.js';
import {
  countActiveAdmins,
  findResetToken,
  insertResetToken,
  accountsPage,
  recentRefusalTimes,
  setLocked,
  setRole,
  useResetToken,
  voidResetTokens,
} from '../store/admin.js';
import { deleteAllEmailCodes, listRecoveryAddresses } from '../store/email.js';
import { listLiveSessions } from '../store/sessions.js';
import { inspectSecret, newSecret } from '../token-format.js';
import type {
  AdminActionInput,
  AdminResult,
  AuditEntry,
  AuditHead,
  AuditVerification,
  IpEntry,
  UserDetails,
  UserSummary,
} from '../views.js';
import { validEmail, validUsername } from './accounts.js';
import { isEmailVerified, sendFirstVerification } from './account-email.js';
import { recordActivity } from './activity.js';
import { appendAudit, auditHeadInWorker, listAudit, parseAuditHead, verifyAuditInWorker } from './audit.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { clearIpBySupport } from './ip-allow-list.js';
import { listIp } from './ip-networks.js';
import { maskAddress, renderMessage } from './messages.js';
import { mailFormat, notifySecurity, securityNotice } from './notifications.js';
import { checkNewPassword } from './password-policy.js';
import { listRecoveryEmails } from './recovery-emails.js';
import { mfaOverview, removeAllFactors } from './second-factors.js';
import { endSessions, type Auth } from './sessions.js';
import { normalizeUsername } from './credentials.js';
import { clearAccountThrottles, countAccountThrottles } from './throttle.js';
import { apiKeyStatus, tokenSummary } from './tokens.js';

// Support staff (SPEC §9). Support never chooses nor sees a password (OWASP ASVS 6.4.6): resets issue
// a single-use token the owner redeems with `acctsec recover --token`.

export const ROLES: Role[] = ['user', 'support', 'admin'];
const RESET_TOKEN_MS = 60 * 60_000;
/** No argon2 hash: sign-in with any password fails until the owner sets one with a reset token. */
export const NO_PASSWORD = '!';

type Action =
  | 'users.create'
  | 'users.set-role'
  | 'reset-password'
  | 'reset-mfa'
  | 'lock'
  | 'unlock'
  | 'unthrottle'
  | 'sessions.revoke'
  | 'ip.clear';
/** What support may do, on `user` accounts only; admins may do everything. */
const SUPPORT_MAY: ReadonlySet<string> = new Set([
  'users.list',
  'users.show',
  'reset-password',
  'reset-mfa',
  'lock',
  'unlock',
  'unthrottle',
  'sessions.revoke',
  'ip.show',
  'ip.clear',
  // Issue #20 §3 and §5 (docs/account-email.md, docs/organizations.md): support changes addresses
  // and memberships of user accounts; creating organizations and exporting recipients are for admins.
  'users.set-email',
  'orgs.list',
  'orgs.add-member',
  'orgs.remove-member',
  // Issue #21 (docs/oauth.md): support lists applications and turns those of user accounts off or on.
  'apps.list',
  'apps.disable',
  'apps.enable',
]);
/** Actions that would leave no active admin when aimed at the last one. */
const HARMS_LAST_ADMIN: ReadonlySet<string> = new Set(['lock', 'reset-password', 'reset-mfa', 'users.set-role']);

export function validReason(raw: string | undefined): string {
  const reason = (raw ?? '').trim();
  if (reason.length < 3 || reason.length > 500) {
    throw new InvalidInput(
      'every admin action needs --reason "why" (3 to 500 characters), for the audit log',
      '--reason',
    );
  }
  return reason;
}

/** The account an admin action names (NotFound otherwise). */
export function findTarget(ctx: ServiceContext, username: string): AccountRow {
  return target(ctx, username);
}

function target(ctx: ServiceContext, username: string): AccountRow {
  const row = findAccountByUsername(ctx.db, normalizeUsername(username));
  if (!row) throw new NotFound(`no account named "${username}"`);
  return row;
}

/**
 * Refusals of a plain user recorded per account in a window (issue #15 §5): enough to see someone probing
 * `acctsec admin`, too few to flood the log. Past them the caller is throttled (exit 6) and nothing is
 * written, until the oldest recorded refusal leaves the window. Staff refusals are all recorded.
 */
const USER_REFUSALS_RECORDED = 5;
const REFUSAL_WINDOW_MS = 15 * 60_000;

/** A refusal is itself audited (SPEC §9), in its own write, then thrown. */
function refuse(
  ctx: ServiceContext,
  auth: Auth,
  action: string,
  targetName: string | null,
  reason: string,
  why: string,
  origin: RequestOrigin,
): never {
  const actor = auth.account.username;
  ctx.db
    .transaction(() => {
      // Read the clock inside the write lock, as throttle.ts does: parallel refusals are counted one by one.
      const at = ctx.now();
      if (auth.account.role === 'user') {
        const recent = recentRefusalTimes(ctx.db, actor, at - REFUSAL_WINDOW_MS);
        if (recent.length >= USER_REFUSALS_RECORDED) {
          const seconds = Math.max(1, Math.ceil((recent[0]! + REFUSAL_WINDOW_MS - at) / 1000));
          throw new Throttled(
            `too many refused admin requests (${why}); try again in ${retryPhrase(seconds)}`,
            seconds,
          );
        }
      }
      appendAudit(ctx, {
        actor,
        target: targetName,
        action,
        reason: reason || '-',
        outcome: 'refused',
        ip: origin.ip ?? null,
        detail: { why },
      });
    })
    .immediate();
  throw new Forbidden(why);
}

/**
 * A plain user is refused before the target is looked up (issue #15 review): otherwise "no account
 * named" against a refusal would tell which accounts exist. The name is recorded as typed.
 */
function staffOnly(
  ctx: ServiceContext,
  auth: Auth,
  action: string,
  username: string,
  reason: string,
  origin: RequestOrigin,
): void {
  if (auth.account.role === 'user')
    refuse(
      ctx,
      auth,
      action,
      normalizeUsername(username).slice(0, 64),
      reason,
      'only support staff and admins may use `acctsec admin`',
      origin,
    );
}

export function authorize(
  ctx: ServiceContext,
  auth: Auth,
  action: string,
  t: AccountRow | null,
  reason: string,
  origin: RequestOrigin,
  newRole?: Role,
): void {
  const role = auth.account.role;
  const name = t?.username ?? null;
  if (role === 'user')
    refuse(ctx, auth, action, name, reason, 'only support staff and admins may use `acctsec admin`', origin);
  if (role === 'support') {
    if (!SUPPORT_MAY.has(action))
      refuse(
        ctx,
        auth,
        action,
        name,
        reason,
        `support staff may not ${action.replace('.', ' ')}: an admin can`,
        origin,
      );
    if (t && t.role !== 'user')
      refuse(
        ctx,
        auth,
        action,
        name,
        reason,
        `support staff may act on user accounts only, and ${t.username} is ${t.role === 'admin' ? 'an admin' : 'support staff'}`,
        origin,
      );
  }
  const demotes = action === 'users.set-role' && newRole !== 'admin';
  if (
    t &&
    t.role === 'admin' &&
    t.locked_at === null &&
    HARMS_LAST_ADMIN.has(action) &&
    (action !== 'users.set-role' || demotes) &&
    countActiveAdmins(ctx.db) <= 1
  ) {
    refuse(ctx, auth, action, name, reason, `${t.username} is the last active admin: make another admin first`, origin);
  }
}

function issueResetToken(ctx: ServiceContext, account: AccountRow): { token: string; expiresAt: number } {
  const token = newSecret('reset');
  const expiresAt = ctx.now() + RESET_TOKEN_MS;
  voidResetTokens(ctx.db, account.id, ctx.now());
  insertResetToken(ctx.db, account.id, hashReset(token), ctx.now(), expiresAt);
  return { token, expiresAt };
}

export function hashReset(token: string): Buffer {
  return createHash('sha256').update(token.trim()).digest();
}

/** Issue #20 §3: a reset token goes only to proven addresses; an unverified account address is left out. */
function resetAddresses(ctx: ServiceContext, account: AccountRow): string[] {
  return [
    ...(isEmailVerified(account) ? [account.email] : []),
    ...listRecoveryAddresses(ctx.db, account.id)
      .filter((r) => r.verified_at !== null)
      .map((r) => r.address),
  ];
}

export async function deliverResetToken(
  ctx: ServiceContext,
  account: AccountRow,
  token: string,
  expiresAt: number,
  isNew: boolean,
): Promise<void> {
  const when = new Date(expiresAt).toISOString().replace('T', ' ').slice(0, 16);
  await ctx.mailer.send(
    // A new account's first token goes to the address staff typed: that is its hand-over, not a
    // recovery; later resets only to proven addresses (issue #20 §3, docs/account-email.md).
    renderMessage(isNew ? [account.email] : resetAddresses(ctx, account), mailFormat(ctx, account), {
      subject: isNew ? 'acctsec: your new account' : 'acctsec: set a new password',
      paragraphs: [
        isNew
          ? `An account ${account.username} was created for you. Set its password with this one-time token:`
          : `Support staff started a password reset for ${account.username}. Set a new password with this one-time token:`,
        `Run: acctsec recover --username ${account.username} --token <the token above>. It works once, until ${when} UTC. If you did not expect it, contact support.`,
      ],
      code: token,
    }),
  );
}

interface Plan {
  action: Action;
  target: string;
  changes: string[];
}

/** Runs an admin action: reason, target, permissions, then a dry run or the change with its audit row. */
async function act(
  ctx: ServiceContext,
  auth: Auth,
  plan: Plan,
  input: AdminActionInput,
  origin: RequestOrigin,
  perform: () => Partial<AdminResult> & { notice?: string },
): Promise<AdminResult> {
  const result: AdminResult = {
    action: plan.action,
    target: plan.target,
    dryRun: Boolean(input.dryRun),
    changes: plan.changes,
  };
  if (input.dryRun) return result;
  const extra = ctx.db
    .transaction(() => {
      const out = perform();
      appendAudit(ctx, {
        actor: auth.account.username,
        target: plan.target,
        action: plan.action,
        reason: input.reason,
        outcome: 'ok',
        ip: origin.ip ?? null,
        detail: { changes: plan.changes },
      });
      return out;
    })
    .immediate();
  const t = findAccountByUsername(ctx.db, plan.target);
  if (t && extra.notice) {
    await notifySecurity(ctx, t, {
      ...securityNotice(ctx, t, extra.notice, origin),
      subject: `acctsec security notice: ${extra.notice}`,
    });
  }
  const { notice: _notice, ...rest } = extra;
  return { ...result, ...rest };
}

export async function createUser(
  ctx: ServiceContext,
  auth: Auth,
  input: AdminActionInput & { username: string; email: string; role?: string; printToken?: boolean },
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  const username = validUsername(input.username);
  const email = validEmail(input.email);
  const role = (input.role ?? 'user') as Role;
  if (!ROLES.includes(role))
    throw new InvalidInput(`invalid role "${input.role}": use user, support or admin`, '--role');
  authorize(ctx, auth, 'users.create', null, reason, origin);
  if (findAccountByUsername(ctx.db, username)) throw new Conflict(`the username ${username} is taken`);
  const delivery = input.printToken
    ? 'print the reset token for a verified hand-over'
    : `email a reset token to ${maskAddress(email)}`;
  let token: { token: string; expiresAt: number } | undefined;
  const result = await act(
    ctx,
    auth,
    { action: 'users.create', target: username, changes: [`create ${username} (${role}) with no password`, delivery] },
    { ...input, reason },
    origin,
    () => {
      const id = insertAccount(ctx.db, { username, email, role, passwordHash: NO_PASSWORD, now: ctx.now() });
      const account = findAccountById(ctx.db, id) as AccountRow;
      recordActivity(ctx, id, 'account.created', { origin, detail: { role, by: auth.account.username } });
      token = issueResetToken(ctx, account);
      return input.printToken
        ? { resetToken: token.token, resetTokenExpiresAt: new Date(token.expiresAt).toISOString() }
        : {};
    },
  );
  if (result.dryRun) return result;
  const created = target(ctx, username);
  const handed = token && !input.printToken ? await handOver(ctx, auth, result, created, token, true, origin) : result;
  // An address that refused the token would refuse the code too: one warning is enough.
  if (handed.warnings?.length) return handed;
  // Issue #20 §3: a code to confirm the address, so it can later carry codes and reset tokens.
  try {
    await sendFirstVerification(ctx, created);
    return handed;
  } catch (err) {
    if (!(err instanceof AcctsecError) || err.slug !== 'mail_failed') throw err;
    return {
      ...handed,
      warnings: [
        `${err.message}; the owner can ask for the address code later with \`acctsec email confirm --send-code\``,
      ],
    };
  }
}

export async function setUserRole(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  roleText: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  const role = roleText as Role;
  if (!ROLES.includes(role)) throw new InvalidInput(`invalid role "${roleText}": use user, support or admin`, 'role');
  staffOnly(ctx, auth, 'users.set-role', username, reason, origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'users.set-role', t, reason, origin, role);
  if (t.role === role) throw new Conflict(`${t.username} is already ${role}`);
  return act(
    ctx,
    auth,
    { action: 'users.set-role', target: t.username, changes: [`role ${t.role} -> ${role}`] },
    { ...input, reason },
    origin,
    () => {
      setRole(ctx.db, t.id, role);
      return { notice: `your role was changed from ${t.role} to ${role} by ${auth.account.username}` };
    },
  );
}

export async function resetPassword(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  input: AdminActionInput & { printToken?: boolean },
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  staffOnly(ctx, auth, 'reset-password', username, reason, origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'reset-password', t, reason, origin);
  const addresses = resetAddresses(ctx, t);
  if (!input.printToken && addresses.length === 0)
    throw new Conflict(
      `${t.username} has no verified address to email a reset token to; verify the owner another way and use --print-token`,
    );
  const delivery = input.printToken
    ? 'print the reset token for a verified hand-over'
    : `email a reset token to ${addresses.map(maskAddress).join(', ')}`;
  let token: { token: string; expiresAt: number } | undefined;
  const result = await act(
    ctx,
    auth,
    {
      action: 'reset-password',
      target: t.username,
      changes: ['issue a single-use reset token valid 1 hour (earlier ones void)', delivery, 'sign out every session'],
    },
    { ...input, reason },
    origin,
    () => {
      token = issueResetToken(ctx, t);
      endSessions(ctx, t.id, null);
      recordActivity(ctx, t.id, 'password.reset_started', { origin, detail: { by: auth.account.username } });
      return input.printToken
        ? { resetToken: token.token, resetTokenExpiresAt: new Date(token.expiresAt).toISOString() }
        : {};
    },
  );
  if (token && !input.printToken) return handOver(ctx, auth, result, t, token, false, origin);
  return result;
}

/**
 * Emails the reset token of an action that already stands (the account exists, the reset is audited).
 * Issue #17: a mail that cannot be sent does not turn that into a failed command — a retry would only
 * meet "username taken" — so the action succeeds with a warning: the undelivered token is voided
 * (nobody holds it), the owner's activity log and the audit log say so, and the operator is told the
 * exact hand-over. Where the message *is* the action (a code to enter), the action is undone instead
 * and the command fails with exit 8 (email-codes.ts).
 */
async function handOver(
  ctx: ServiceContext,
  auth: Auth,
  result: AdminResult,
  account: AccountRow,
  token: { token: string; expiresAt: number },
  isNew: boolean,
  origin: RequestOrigin,
): Promise<AdminResult> {
  try {
    await deliverResetToken(ctx, account, token.token, token.expiresAt, isNew);
    return result;
  } catch (err) {
    if (!(err instanceof AcctsecError) || err.slug !== 'mail_failed') throw err;
    ctx.db
      .transaction(() => {
        voidResetTokens(ctx.db, account.id, ctx.now());
        recordActivity(ctx, account.id, 'password.reset_mail_failed', {
          origin,
          detail: { by: auth.account.username },
        });
        appendAudit(ctx, {
          actor: auth.account.username,
          target: account.username,
          action: 'reset-token.undelivered',
          reason: 'the mail server refused or could not be reached',
          outcome: 'ok',
          ip: origin.ip ?? null,
          detail: { after: result.action, tokenVoided: true },
        });
      })
      .immediate();
    const warning = `${err.message}. The reset token was not delivered and is void; after verifying the owner, hand one over with: acctsec admin reset-password ${account.username} --reason "..." --print-token`;
    return { ...result, warnings: [...(result.warnings ?? []), warning] };
  }
}

export async function resetMfa(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  staffOnly(ctx, auth, 'reset-mfa', username, reason, origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'reset-mfa', t, reason, origin);
  const methods = mfaOverview(ctx, t)
    .methods.filter((m) => m.enabled)
    .map((m) => m.type);
  const changes = [
    `remove every second factor (${methods.join(', ') || 'none active'}) and all recovery codes`,
    'sign out every session',
  ];
  return act(ctx, auth, { action: 'reset-mfa', target: t.username, changes }, { ...input, reason }, origin, () => {
    removeAllFactors(ctx, t.id);
    // Pending email codes of every purpose go too (a recovery in flight is started again after the reset).
    deleteAllEmailCodes(ctx.db, t.id);
    endSessions(ctx, t.id, null);
    recordActivity(ctx, t.id, 'mfa.reset', { origin, detail: { by: auth.account.username, removed: methods } });
    return {
      notice: `your second factors were removed by support (${auth.account.username}); sign in with your password and set one up again`,
    };
  });
}

export async function lockUser(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  locked: boolean,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  const action = locked ? 'lock' : 'unlock';
  staffOnly(ctx, auth, action, username, reason, origin);
  const t = target(ctx, username);
  authorize(ctx, auth, action, t, reason, origin);
  if ((t.locked_at !== null) === locked)
    throw new Conflict(`${t.username} is already ${locked ? 'locked' : 'unlocked'}`);
  const changes = locked
    ? ['refuse sign-in', 'sign out every session', 'make every token and API key inactive']
    : ['allow sign-in and tokens again'];
  return act(ctx, auth, { action, target: t.username, changes }, { ...input, reason }, origin, () => {
    setLocked(ctx.db, t.id, locked ? ctx.now() : null);
    if (locked) endSessions(ctx, t.id, null);
    recordActivity(ctx, t.id, locked ? 'account.locked' : 'account.unlocked', {
      origin,
      detail: { by: auth.account.username },
    });
    return { notice: `your account was ${locked ? 'locked' : 'unlocked'} by support (${auth.account.username})` };
  });
}

/**
 * `admin unthrottle` (issue #15): support's way back from a lock-out by failed attempts. Clears every
 * throttle of the account, one per flow: sign-in, the second factor at sign-in, identity confirmation
 * in each session, recovery. Nothing to clear is a conflict, as unlocking an unlocked account is.
 */
export async function unthrottleUser(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  staffOnly(ctx, auth, 'unthrottle', username, reason, origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'unthrottle', t, reason, origin);
  const n = countAccountThrottles(ctx.db, t);
  if (n === 0) throw new Conflict(`${t.username} has no failed attempts to clear`);
  const changes = [
    `clear ${n} throttle${n === 1 ? '' : 's'} (sign-in, second factor, identity confirmation, recovery)`,
  ];
  return act(ctx, auth, { action: 'unthrottle', target: t.username, changes }, { ...input, reason }, origin, () => {
    clearAccountThrottles(ctx.db, t);
    recordActivity(ctx, t.id, 'throttles.cleared', { origin, detail: { by: auth.account.username } });
    return {
      notice: `the failed attempts counted against your account were cleared by support (${auth.account.username})`,
    };
  });
}

export async function revokeUserSessions(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  staffOnly(ctx, auth, 'sessions.revoke', username, reason, origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'sessions.revoke', t, reason, origin);
  const n = listLiveSessions(ctx.db, t.id, ctx.now()).length;
  return act(
    ctx,
    auth,
    { action: 'sessions.revoke', target: t.username, changes: [`sign out ${n} session${n === 1 ? '' : 's'}`] },
    { ...input, reason },
    origin,
    () => {
      endSessions(ctx, t.id, null);
      recordActivity(ctx, t.id, 'sessions.revoked_by_support', { origin, detail: { by: auth.account.username } });
      return { notice: `every session of your account was signed out by support (${auth.account.username})` };
    },
  );
}

/** `admin ip show`: another account's IP allow-list, as `ip list` shows one's own. */
export function showUserIp(ctx: ServiceContext, auth: Auth, username: string, origin: RequestOrigin): IpEntry[] {
  staffOnly(ctx, auth, 'ip.show', username, '', origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'ip.show', t, '', origin);
  return listIp(ctx, t);
}

/**
 * `admin ip clear`: the way back from an IP restriction that locks its owner out (a wrong `ip set
 * --force`, an address that changed). Audited, and the owner is told.
 */
export async function clearUserIp(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  staffOnly(ctx, auth, 'ip.clear', username, reason, origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'ip.clear', t, reason, origin);
  const entries = listIp(ctx, t).map((e) => e.cidr);
  if (entries.length === 0) throw new Conflict(`${t.username} has no IP restriction`);
  const changes = [
    `remove ${entries.length === 1 ? 'the entry' : `all ${entries.length} entries`} of the IP allow-list: ${entries.join(', ')}`,
    'allow sign-in and tokens from every address',
  ];
  return act(ctx, auth, { action: 'ip.clear', target: t.username, changes }, { ...input, reason }, origin, () => {
    clearIpBySupport(ctx, t, auth.account.username, origin);
    return { notice: `your IP allow-list was cleared by support (${auth.account.username})` };
  });
}

function summary(a: AccountRow): UserSummary {
  return {
    username: a.username,
    email: a.email,
    role: a.role,
    locked: a.locked_at !== null,
    createdAt: new Date(a.created_at).toISOString(),
  };
}

/** Accounts `admin users list` reads at a time. */
export const USERS_PAGE = 2000;

/** A --role value: one of ROLES, or none. */
export function roleFilter(role: string | undefined): Role | undefined {
  if (role !== undefined && !ROLES.includes(role as Role))
    throw new InvalidInput(`invalid role "${role}": use user, support or admin`, '--role');
  return role as Role | undefined;
}

/**
 * Every account (of a role), in name order, read a page at a time with the event loop free between
 * pages (issue #19 §3): the server answers other requests meanwhile, and no cursor stays open on the
 * connection they share (a cursor left open while a slow client drained made their queries fail as
 * "busy"). A page is a read of its own: an account created during a long read shows if its name comes
 * after the page being read. Used by `admin users list` and `admin users export`.
 */
export async function* accountsInPages(
  ctx: ServiceContext,
  role: Role | undefined,
  pageSize = USERS_PAGE,
): AsyncGenerator<AccountRow> {
  let after: string | undefined;
  for (;;) {
    const page = accountsPage(ctx.db, role, after, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.username;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Streams, so a list of 100,000 accounts starts at once and keeps memory flat. */
export async function* listUsers(
  ctx: ServiceContext,
  auth: Auth,
  role: string | undefined,
  origin: RequestOrigin,
): AsyncGenerator<UserSummary> {
  const only = roleFilter(role);
  authorize(ctx, auth, 'users.list', null, '', origin);
  for await (const a of accountsInPages(ctx, only)) yield summary(a);
}

export function showUser(ctx: ServiceContext, auth: Auth, username: string, origin: RequestOrigin): UserDetails {
  staffOnly(ctx, auth, 'users.show', username, '', origin);
  const t = target(ctx, username);
  authorize(ctx, auth, 'users.show', t, '', origin);
  return {
    ...summary(t),
    emailVerified: isEmailVerified(t),
    passwordChangedAt: new Date(t.password_changed_at).toISOString(),
    mfa: mfaOverview(ctx, t),
    ipAllowList: listIp(ctx, t),
    tokens: tokenSummary(ctx, t),
    legacyApiKey: apiKeyStatus(ctx, t).present,
    recoveryEmails: listRecoveryEmails(ctx, t),
    activeSessions: listLiveSessions(ctx.db, t.id, ctx.now()).length,
  };
}

export function auditEntries(
  ctx: ServiceContext,
  auth: Auth,
  filter: { user?: string; actor?: string; since?: string; limit?: number },
  origin: RequestOrigin,
): AuditEntry[] {
  if (auth.account.role !== 'admin')
    refuse(ctx, auth, 'audit.read', null, '', 'only admins may read the audit log', origin);
  let since: number | undefined;
  if (filter.since !== undefined) {
    since = Date.parse(filter.since.length === 10 ? `${filter.since}T00:00:00Z` : filter.since);
    if (Number.isNaN(since))
      throw new InvalidInput(`invalid date "${filter.since}": use YYYY-MM-DD or an ISO 8601 time`, '--since');
  }
  const limit = filter.limit ?? 50;
  return listAudit(ctx, {
    ...(filter.user ? { target: normalizeUsername(filter.user) } : {}),
    ...(filter.actor ? { actor: normalizeUsername(filter.actor) } : {}),
    ...(since !== undefined ? { since } : {}),
    limit,
  });
}

/** The walk runs in the audit worker (issue #19 §3): a log of 500,000 rows does not stall the server. */
export async function verifyAuditLog(
  ctx: ServiceContext,
  auth: Auth,
  origin: RequestOrigin,
  keptHead?: string,
): Promise<AuditVerification> {
  if (auth.account.role !== 'admin')
    refuse(ctx, auth, 'audit.verify', null, '', 'only admins may verify the audit log', origin);
  return verifyAuditInWorker(ctx, keptHead === undefined ? undefined : parseAuditHead(keptHead));
}

export async function auditLogHead(ctx: ServiceContext, auth: Auth, origin: RequestOrigin): Promise<AuditHead> {
  if (auth.account.role !== 'admin')
    refuse(ctx, auth, 'audit.head', null, '', "only admins may read the audit log's head", origin);
  return auditHeadInWorker(ctx);
}

/**
 * `acctsec recover --token`: the owner sets a password with a reset token; every session ends. No
 * per-account counter (issue #15): a token carries 160 random bits and a checksum, so a guess matches
 * no request, and a counter would only let an outsider with the username hold back the owner's
 * valid token. `serve` still counts each refusal against the caller's address.
 */
export async function recoverWithResetToken(
  ctx: ServiceContext,
  input: { username: string; token: string; newPassword: string },
  origin: RequestOrigin,
): Promise<{ username: string; revokedSessions: number }> {
  const name = normalizeUsername(input.username);
  await checkNewPassword({ password: input.newPassword, username: name, minLength: ctx.policy.passwordMinLength });
  const wrong = new AuthFailed('wrong, used or expired reset token', 'wrong_code');
  const shape = inspectSecret(input.token);
  const account = findAccountByUsername(ctx.db, name);
  if (!shape.valid || shape.kind !== 'reset' || !account) throw wrong;
  const row = findResetToken(ctx.db, hashReset(input.token));
  if (!row || row.account_id !== account.id || row.used_at !== null || row.expires_at <= ctx.now()) throw wrong;
  const hash = await ctx.hasher.hash(input.newPassword);
  const revoked = ctx.db
    .transaction(() => {
      if (!useResetToken(ctx.db, row.id, ctx.now())) throw wrong;
      setPassword(ctx.db, account.id, hash, ctx.now());
      const n = endSessions(ctx, account.id, null);
      recordActivity(ctx, account.id, 'password.recovered', {
        origin,
        detail: { via: 'reset-token', revokedSessions: n },
      });
      return n;
    })
    .immediate();
  await notifySecurity(
    ctx,
    account,
    securityNotice(ctx, account, 'your password was set with a reset token, and every session signed out', origin),
  );
  return { username: account.username, revokedSessions: revoked };
}
