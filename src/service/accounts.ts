import { Conflict, InvalidInput } from '../errors.js';
import {
  countAccounts,
  findAccountById,
  findAccountByUsername,
  insertAccount,
  setPassword,
  setUsername,
  type AccountRow,
} from '../store/accounts.js';
import { markSessionAuthenticated } from '../store/sessions.js';
import type { AccountStatus, IdentityProof, InitInput, PasswordChangeResult, SessionGrant } from '../views.js';
import { recordActivity } from './activity.js';
import { sealEmptyAuditLog } from './audit.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import type { Policy } from './policy.js';
import { databaseKey } from './encryption.js';
import { confirmIdentity } from './identity.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { checkNewPassword, estimateStrength } from './password-policy.js';
import { listIp } from './ip-networks.js';
import { apiKeyStatus, tokenSummary } from './tokens.js';
import { lowRecoveryCodesNotice, recoveryCodesLeft } from './recovery-code-set.js';
import { activeFactors } from './factor-list.js';
import { mfaOverview } from './second-factors.js';
// Issue #20 §2 and §4: the repair window in status, the first sign-in's device, the username notice.
import { repairWindowUntil } from './repair-window.js';
import { rememberSignInSource } from './known-sign-ins.js';
import { createSession, endSessions, sessionViews, type Auth } from './sessions.js';
import { checkPassword, normalizeUsername } from './credentials.js';
import { confirmThrottleKey } from './throttle.js';

const USERNAME_RULE = /^[a-z0-9._-]{3,64}$/;
const EMAIL_RULE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// eslint-disable-next-line no-control-regex -- the point: C0, DEL, C1, and the bidi controls
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** SPEC §2: 3–64 characters of [a-z0-9._-]; input is trimmed and lower-cased first. */
export function validUsername(raw: string): string {
  const name = normalizeUsername(raw);
  if (!USERNAME_RULE.test(name)) {
    throw new InvalidInput(
      `invalid username ${JSON.stringify(raw)}: use 3 to 64 characters among a-z, 0-9, ".", "_" and "-"`,
      'username',
    );
  }
  return name;
}

export function validEmail(raw: string): string {
  const email = raw.trim();
  // Control and bidirectional-override characters are refused: an address is shown on terminals
  // (status, admin lists, exports), where they would be escape sequences (issue #19 review).
  if (CONTROL.test(email))
    throw new InvalidInput(`invalid email address ${JSON.stringify(raw)}: it holds a control character`, 'email');
  if (email.length > 254 || !EMAIL_RULE.test(email)) throw new InvalidInput(`invalid email address "${raw}"`, 'email');
  return email;
}

/**
 * The first account's values, judged before anything is created: an invalid init leaves no database
 * and no key file behind (issue #14).
 */
export async function checkInitInput(input: InitInput, policy: Policy): Promise<{ username: string; email: string }> {
  const username = validUsername(input.username);
  const email = validEmail(input.email);
  await checkNewPassword({ password: input.password, username, minLength: policy.passwordMinLength });
  return { username, email };
}

/** `acctsec init`: the first account of an empty store, role admin, signed in. */
export async function initialize(
  ctx: ServiceContext,
  input: InitInput,
  origin: RequestOrigin,
  /** Runs once the store is known to be empty, before anything is written (the CLI makes its key file). */
  prepare?: () => void,
): Promise<{ account: AccountRow; session: SessionGrant }> {
  if (countAccounts(ctx.db) > 0) throw new Conflict('this database already has accounts; `acctsec login` instead');
  prepare?.();
  const { username, email } = await checkInitInput(input, ctx.policy);
  const hash = await ctx.hasher.hash(input.password);
  return ctx.db
    .transaction(() => {
      // Re-checked inside the write lock: two concurrent inits cannot both create a first admin.
      if (countAccounts(ctx.db) > 0) throw new Conflict('this database already has accounts; `acctsec login` instead');
      // Records the key's fingerprint, so a wrong key later is named as such.
      databaseKey(ctx.db, ctx.keyring);
      const id = insertAccount(ctx.db, { username, email, role: 'admin', passwordHash: hash, now: ctx.now() });
      const account = findAccountById(ctx.db, id) as AccountRow;
      const session = createSession(ctx, account, { ...origin, client: input.client ?? origin.client });
      rememberSignInSource(ctx, account, { ...origin, client: input.client ?? origin.client });
      recordActivity(ctx, id, 'account.created', { origin, sessionId: session.sessionId, detail: { role: 'admin' } });
      sealEmptyAuditLog(ctx);
      return { account, session };
    })
    .immediate();
}

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

export function accountStatus(ctx: ServiceContext, auth: Auth): AccountStatus {
  const a = auth.account;
  const rotationDueAt = addMonths(a.password_changed_at, ctx.policy.passwordRotationMonths);
  const rotationDue = ctx.now() >= rotationDueAt;
  const left = recoveryCodesLeft(ctx, a);
  const notices = [
    rotationDue
      ? `your password is over ${ctx.policy.passwordRotationMonths} months old: \`acctsec password change\``
      : null,
    left === null ? null : lowRecoveryCodesNotice(left),
    ...tokenSummary(ctx, a).expiringSoon.map(
      (t) => `the token "${t.name}" expires ${t.expiresAt!.slice(0, 10)}: \`acctsec token rotate ${t.id}\``,
    ),
    activeFactors(ctx, a).some((f) => f.id === 'email') && !ctx.policy.allowEmailMfa
      ? 'email codes are turned off by policy (policy.allowEmailMfa): they still work for you until you disable them; switch to the authenticator app'
      : null,
    // Issue #20 §3: an unverified address gets notices only.
    a.email_verified_at === null
      ? `your address ${a.email} is not verified: it gets notices, but no codes or reset tokens until you confirm it (\`acctsec email confirm --send-code\`)`
      : null,
  ].filter((n): n is string => n !== null);
  return {
    username: a.username,
    email: a.email,
    role: a.role,
    createdAt: new Date(a.created_at).toISOString(),
    passwordChangedAt: new Date(a.password_changed_at).toISOString(),
    passwordRotationDue: rotationDue,
    passwordRotationDueAt: new Date(rotationDueAt).toISOString(),
    mfa: { ...mfaOverview(ctx, a), repairWindowUntil: repairWindowUntil(ctx, auth) },
    ipAllowList: listIp(ctx, a),
    tokens: tokenSummary(ctx, a),
    legacyApiKey: apiKeyStatus(ctx, a).present,
    sessions: sessionViews(ctx, auth),
    notices,
    repairWindowUntil: repairWindowUntil(ctx, auth),
  };
}

/**
 * SPEC §3: always the current password (whatever the window), the policy, then every other session
 * signed out. The current password check counts in the session's confirmation throttle (issue #15):
 * a stolen session guesses no faster than sign-in could, and its guesses never block the owner's sign-in.
 */
export async function changePassword(
  ctx: ServiceContext,
  auth: Auth,
  input: { current: string; next: string },
  origin: RequestOrigin,
): Promise<PasswordChangeResult> {
  const a = auth.account;
  await checkNewPassword({
    password: input.next,
    username: a.username,
    minLength: ctx.policy.passwordMinLength,
    current: input.current,
  });
  await checkPassword(ctx, a.username, input.current, origin, {
    message: 'the current password is wrong',
    event: 'password.change_failed',
    throttle: confirmThrottleKey(a.id, auth.session.id),
  });
  const hash = await ctx.hasher.hash(input.next);
  const now = ctx.now();
  const revoked = ctx.db
    .transaction(() => {
      setPassword(ctx.db, a.id, hash, now);
      const n = endSessions(ctx, a.id, auth.session.id);
      markSessionAuthenticated(ctx.db, auth.session.id, now);
      recordActivity(ctx, a.id, 'password.changed', {
        origin,
        sessionId: auth.session.id,
        detail: { revokedSessions: n },
      });
      return n;
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(ctx, a, 'your password was changed and every other session signed out', origin),
  );
  const strength = await estimateStrength(input.next, [a.username, a.email]);
  const notices: string[] = [];
  if (activeFactors(ctx, a).length === 0 && [...input.next.normalize('NFC')].length < 15) {
    notices.push(
      'this account has no second factor: NIST SP 800-63B rev 4 asks for at least 15 characters when the password is the only factor; consider `acctsec mfa totp enable`',
    );
  }
  return { passwordChangedAt: new Date(now).toISOString(), revokedSessions: revoked, strength, notices };
}

export async function changeUsername(
  ctx: ServiceContext,
  auth: Auth,
  newName: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<{ username: string; previous: string }> {
  const name = validUsername(newName);
  const previous = auth.account.username;
  if (name === previous) throw new Conflict(`the username is already ${name}`);
  if (findAccountByUsername(ctx.db, name)) throw new Conflict(`the username ${name} is taken`);
  await confirmIdentity(ctx, auth, proof, origin);
  ctx.db
    .transaction(() => {
      if (findAccountByUsername(ctx.db, name)) throw new Conflict(`the username ${name} is taken`);
      setUsername(ctx.db, auth.account.id, name);
      recordActivity(ctx, auth.account.id, 'username.changed', {
        origin,
        sessionId: auth.session.id,
        detail: { from: previous, to: name },
      });
    })
    .immediate();
  // Issue #20 §4: a username change is a security notice.
  const renamed = { ...auth.account, username: name };
  await notifySecurity(
    ctx,
    renamed,
    securityNotice(ctx, renamed, `your username was changed from ${previous} to ${name}`, origin),
  );
  return { username: name, previous };
}
