import { Conflict, InvalidInput, NotFound } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import {
  addOrgMember,
  findOrg,
  insertOrg,
  isOrgMember,
  listOrgs,
  orgMemberNames,
  recipientCandidates,
  removeOrgMember,
  type OrgRow,
} from '../store/orgs.js';
import type { AdminActionInput, AdminResult, OrgView, RecipientList, RecipientQuery } from '../views.js';
import { recordActivity } from './activity.js';
import { authorize, findTarget, validReason } from './admin.js';
import { appendAudit } from './audit.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { notifySecurity, securityNotice } from './notifications.js';
import type { Auth } from './sessions.js';

// Organizations with members, and who a mailing goes to (issue #20 §5, docs/organizations.md).
// Admins create organizations and export recipients; support and admins manage members (support:
// of user accounts only, as for every support action). Every change has a reason, an audit row, an
// entry in the member's activity and a notice to the member.

const ORG_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validOrgName(raw: string): string {
  const name = raw.trim();
  if (!ORG_RULE.test(name))
    throw new InvalidInput(
      `invalid organization name ${JSON.stringify(raw)}: use 1 to 64 characters among A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit`,
      'org',
    );
  return name;
}

function existingOrg(ctx: ServiceContext, raw: string): OrgRow {
  const org = findOrg(ctx.db, validOrgName(raw));
  if (!org) throw new NotFound(`no organization named "${raw}"`);
  return org;
}

function audit(
  ctx: ServiceContext,
  auth: Auth,
  action: string,
  target: string,
  reason: string,
  origin: RequestOrigin,
  changes: string[],
): void {
  appendAudit(ctx, {
    actor: auth.account.username,
    target,
    action,
    reason,
    outcome: 'ok',
    ip: origin.ip ?? null,
    detail: { changes },
  });
}

export function adminCreateOrg(
  ctx: ServiceContext,
  auth: Auth,
  raw: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): AdminResult {
  const reason = validReason(input.reason);
  authorize(ctx, auth, 'orgs.create', null, reason, origin);
  const name = validOrgName(raw);
  if (findOrg(ctx.db, name)) throw new Conflict(`an organization named "${name}" exists already`);
  const result: AdminResult = {
    action: 'orgs.create',
    target: name,
    dryRun: Boolean(input.dryRun),
    changes: [`create the organization ${name}, with no members`],
  };
  if (input.dryRun) return result;
  ctx.db
    .transaction(() => {
      // Re-checked inside the write lock: two concurrent creations make one organization.
      if (findOrg(ctx.db, name)) throw new Conflict(`an organization named "${name}" exists already`);
      insertOrg(ctx.db, name, ctx.now(), auth.account.username);
      audit(ctx, auth, 'orgs.create', name, reason, origin, result.changes);
    })
    .immediate();
  return result;
}

async function membership(
  ctx: ServiceContext,
  auth: Auth,
  orgName: string,
  username: string,
  input: AdminActionInput,
  origin: RequestOrigin,
  add: boolean,
): Promise<AdminResult> {
  const action = add ? 'orgs.add-member' : 'orgs.remove-member';
  const reason = validReason(input.reason);
  // A plain user is refused before anything is looked up: no probing which accounts or organizations exist.
  authorize(ctx, auth, action, null, reason, origin);
  const org = existingOrg(ctx, orgName);
  const t: AccountRow = findTarget(ctx, username);
  authorize(ctx, auth, action, t, reason, origin);
  const member = isOrgMember(ctx.db, org.id, t.id);
  if (add && member) throw new Conflict(`${t.username} is already a member of ${org.name}`);
  if (!add && !member) throw new NotFound(`${t.username} is not a member of ${org.name}`);
  const result: AdminResult = {
    action,
    target: t.username,
    dryRun: Boolean(input.dryRun),
    changes: [add ? `add ${t.username} to ${org.name}` : `remove ${t.username} from ${org.name}`],
  };
  if (input.dryRun) return result;
  ctx.db
    .transaction(() => {
      const changed = add
        ? addOrgMember(ctx.db, org.id, t.id, ctx.now(), auth.account.username)
        : removeOrgMember(ctx.db, org.id, t.id);
      if (!changed)
        throw new Conflict(`the membership of ${t.username} in ${org.name} changed meanwhile; nothing done`);
      recordActivity(ctx, t.id, add ? 'organization.joined' : 'organization.left', {
        origin,
        detail: { organization: org.name, by: auth.account.username },
      });
      audit(ctx, auth, action, t.username, reason, origin, result.changes);
    })
    .immediate();
  // SPEC §9: every admin action notifies the account owner.
  const what = add
    ? `you were added to the organization ${org.name} by ${auth.account.username}`
    : `you were removed from the organization ${org.name} by ${auth.account.username}`;
  await notifySecurity(ctx, t, securityNotice(ctx, t, what, origin));
  return result;
}

export function adminAddOrgMember(
  ctx: ServiceContext,
  auth: Auth,
  org: string,
  username: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  return membership(ctx, auth, org, username, input, origin, true);
}

export function adminRemoveOrgMember(
  ctx: ServiceContext,
  auth: Auth,
  org: string,
  username: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  return membership(ctx, auth, org, username, input, origin, false);
}

export function adminListOrgs(ctx: ServiceContext, auth: Auth, origin: RequestOrigin): OrgView[] {
  authorize(ctx, auth, 'orgs.list', null, '', origin);
  return listOrgs(ctx.db).map((o) => ({
    name: o.name,
    createdAt: new Date(o.created_at).toISOString(),
    createdBy: o.created_by,
    members: orgMemberNames(ctx.db, o.id),
  }));
}

/**
 * `admin notifications recipients`: who a newsletter or an organization's notice goes to. Only
 * unlocked accounts with a verified address; subscribers of the newsletter (off unless chosen), or
 * members of the organization that have not turned its notices off (on unless turned off); each with
 * the mail format the account chose. A bulk read of addresses: admins only, and audited.
 */
export function adminRecipients(
  ctx: ServiceContext,
  auth: Auth,
  query: RecipientQuery,
  origin: RequestOrigin,
): RecipientList {
  authorize(ctx, auth, 'notifications.recipients', null, '', origin);
  if ((query.newsletter === undefined) === (query.org === undefined))
    throw new InvalidInput('name either --newsletter or --org (one of them)', '--newsletter');
  let list: RecipientList;
  if (query.newsletter !== undefined) {
    const name = query.newsletter;
    if (!ctx.policy.newsletters.includes(name))
      throw new InvalidInput(
        `unknown newsletter "${name}"; the lists are: ${ctx.policy.newsletters.join(', ')}`,
        '--newsletter',
      );
    list = {
      newsletter: name,
      organization: null,
      recipients: recipientCandidates(ctx.db)
        .filter((r) => (JSON.parse(r.newsletters ?? '{}') as Record<string, boolean>)[name] === true)
        .map((r) => ({ username: r.username, email: r.email, format: r.format ?? 'html' })),
    };
  } else {
    const org = existingOrg(ctx, query.org!);
    list = {
      newsletter: null,
      organization: org.name,
      recipients: recipientCandidates(ctx.db, org.id)
        .filter((r) => (JSON.parse(r.organizations ?? '{}') as Record<string, boolean>)[org.name] !== false)
        .map((r) => ({ username: r.username, email: r.email, format: r.format ?? 'html' })),
    };
  }
  ctx.db
    .transaction(() =>
      audit(
        ctx,
        auth,
        'notifications.recipients',
        list.organization ?? list.newsletter!,
        'export for a mailing',
        origin,
        [`read ${list.recipients.length} recipient address${list.recipients.length === 1 ? '' : 'es'}`],
      ),
    )
    .immediate();
  return list;
}
