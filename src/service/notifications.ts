import { InvalidInput, NotFound } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import { getNotificationSettings, listRecoveryAddresses, putNotificationSettings } from '../store/email.js';
import { findOrg, isOrgMember, orgsOfAccount } from '../store/orgs.js';
import type { NotificationSettings } from '../views.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { renderMessage, type MailFormat, type MessageBody } from './messages.js';
import type { Auth } from './sessions.js';

// Notification preferences (SPEC §8) and the security notices that cannot be turned off.

/** Names a user might try in order to silence security notices: refused with a clear message. */
const SECURITY_NAMES = new Set(['security', 'security-notifications', 'security-alerts', 'alerts']);
/**
 * The security notices that are always sent (SPEC §8, issue #20 §4): shown by `notifications show`,
 * and never a list one can subscribe to or leave.
 */
export const ALWAYS_ON_NOTICES = [
  'password changed',
  'username changed',
  'second factors changed',
  'recovery codes used or regenerated',
  'recovery QR code created, revoked or used',
  'account email changed',
  'tokens created or revoked',
  'legacy API key deleted',
  'sessions signed out',
  'sign-in from a new device or address',
  'IP list changed',
  'support actions',
];
const ORG_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function mailFormat(ctx: ServiceContext, account: AccountRow): MailFormat {
  return getNotificationSettings(ctx.db, account.id).format;
}

/**
 * A security notice to the account's address, in its format: password changed, MFA changed, recovery
 * codes, tokens, IP list, support actions. Sent after the change is made; a failure is reported, not thrown.
 */
export async function notifySecurity(ctx: ServiceContext, account: AccountRow, body: MessageBody): Promise<void> {
  await ctx.mailer.notify(renderMessage([account.email], mailFormat(ctx, account), body));
}

/**
 * A password reset by a recovery credential (a recovery QR code, a recovery address, a key): the
 * notice goes to the account's address and to every verified recovery address (issue #20 §1), so an
 * owner whose main mailbox is the one taken over still hears of it.
 */
export async function notifyAllAddresses(ctx: ServiceContext, account: AccountRow, body: MessageBody): Promise<void> {
  const to = [account.email];
  for (const r of listRecoveryAddresses(ctx.db, account.id))
    if (r.verified_at !== null && !to.some((t) => t.toLowerCase() === r.address.toLowerCase())) to.push(r.address);
  await ctx.mailer.notify(renderMessage(to, mailFormat(ctx, account), body));
}

/** The standard security notice: what happened, when, and what to do if it was not you. */
export function securityNotice(
  ctx: ServiceContext,
  account: AccountRow,
  what: string,
  origin: RequestOrigin,
): MessageBody {
  const when = new Date(ctx.now()).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const where = origin.ip ? ` from ${origin.ip}` : origin.client ? ` (${origin.client})` : '';
  return {
    subject: `acctsec security notice: ${what}`,
    paragraphs: [
      `Hello ${account.username},`,
      `${what[0]!.toUpperCase()}${what.slice(1)} on your account at ${when}${where}.`,
      'If this was you, there is nothing to do. If it was not, change your password now (`acctsec password change`) and review `acctsec activity`.',
    ],
  };
}

export function notificationSettings(ctx: ServiceContext, account: AccountRow): NotificationSettings {
  const row = getNotificationSettings(ctx.db, account.id);
  const chosen = JSON.parse(row.newsletters) as Record<string, boolean>;
  const orgChoices = JSON.parse(row.organizations) as Record<string, boolean>;
  return {
    format: row.format,
    newsletters: Object.fromEntries(ctx.policy.newsletters.map((n) => [n, chosen[n] === true])),
    // Issue #20 §5: the organizations the account belongs to, each on unless turned off.
    organizations: Object.fromEntries(orgsOfAccount(ctx.db, account.id).map((o) => [o, orgChoices[o] !== false])),
    alwaysOn: [...ALWAYS_ON_NOTICES],
  };
}

function save(
  ctx: ServiceContext,
  auth: Auth,
  s: NotificationSettings,
  detail: Record<string, unknown>,
): NotificationSettings {
  putNotificationSettings(ctx.db, {
    account_id: auth.account.id,
    format: s.format,
    newsletters: JSON.stringify(s.newsletters),
    organizations: JSON.stringify(s.organizations),
  });
  recordActivity(ctx, auth.account.id, 'notifications.changed', { sessionId: auth.session.id, detail });
  return s;
}

export function setMailFormat(ctx: ServiceContext, auth: Auth, format: string): NotificationSettings {
  if (format !== 'html' && format !== 'text')
    throw new InvalidInput(`invalid format "${format}": use html or text`, 'format');
  return save(ctx, auth, { ...notificationSettings(ctx, auth.account), format }, { format });
}

export function setNewsletters(ctx: ServiceContext, auth: Auth, names: string[], on: boolean): NotificationSettings {
  if (names.length === 0) throw new InvalidInput('name at least one list', 'list');
  for (const name of names) {
    if (SECURITY_NAMES.has(name.toLowerCase())) {
      throw new InvalidInput(
        `"${name}": security notifications (password changed, MFA changed, token created, recovery code used, support reset, IP list changed) are always sent and cannot be turned ${on ? 'on or off' : 'off'}`,
        'list',
      );
    }
    if (!ctx.policy.newsletters.includes(name)) {
      throw new InvalidInput(`unknown list "${name}"; the lists are: ${ctx.policy.newsletters.join(', ')}`, 'list');
    }
  }
  const s = notificationSettings(ctx, auth.account);
  for (const name of names) s.newsletters[name] = on;
  return save(ctx, auth, s, { lists: names, subscribed: on });
}

export function setOrganization(ctx: ServiceContext, auth: Auth, org: string, on: boolean): NotificationSettings {
  if (!ORG_RULE.test(org)) throw new InvalidInput(`invalid organization name "${org}"`, 'org');
  // Issue #20 §5: only an organization the user belongs to; one answer whether it does not exist or
  // the user is not in it, so names cannot be probed.
  const found = findOrg(ctx.db, org);
  if (!found || !isOrgMember(ctx.db, found.id, auth.account.id))
    throw new NotFound(`you are not a member of an organization named "${org}"`);
  const s = notificationSettings(ctx, auth.account);
  s.organizations[found.name] = on;
  return save(ctx, auth, s, { organization: found.name, on });
}
