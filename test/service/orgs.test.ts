import { describe, expect, it } from 'vitest';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../src/errors.js';
import { createUser, lockUser, recoverWithResetToken } from '../../src/service/admin.js';
import { listAudit } from '../../src/service/audit.js';
import type { ServiceContext } from '../../src/service/context.js';
import {
  notificationSettings,
  setMailFormat,
  setNewsletters,
  setOrganization,
} from '../../src/service/notifications.js';
import {
  adminAddOrgMember,
  adminCreateOrg,
  adminListOrgs,
  adminRecipients,
  adminRemoveOrgMember,
} from '../../src/service/orgs.js';
import { authenticate, type Auth } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { findAccountByUsername } from '../../src/store/accounts.js';
import { markEmailVerified } from '../../src/store/account-email.js';
import { testContext, withAlice } from './context.js';

// Issue #20 §5: organizations with members, member-only organization notices, and mailing recipients.

const WHY = { reason: 'ticket 99' };
const MEMBER_PASSWORD = 'a plain member passphrase';

async function member(ctx: ServiceContext, admin: Auth, name: string, email: string, role = 'user'): Promise<Auth> {
  const made = await createUser(ctx, admin, { username: name, email, role, printToken: true, ...WHY }, {});
  await recoverWithResetToken(ctx, { username: name, token: made.resetToken!, newPassword: MEMBER_PASSWORD }, {});
  const r = await signIn(ctx, { username: name, password: MEMBER_PASSWORD }, {});
  if (r.status !== 'signed-in') throw new Error(r.status);
  return authenticate(ctx, r.session.token);
}

function verify(ctx: ServiceContext, name: string): void {
  const a = findAccountByUsername(ctx.db, name)!;
  markEmailVerified(ctx.db, a.id, a.email, ctx.now());
}

function caught(fn: () => unknown): Error | undefined {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

async function world() {
  const ctx = testContext();
  const { auth } = await withAlice(ctx);
  const sam = await member(ctx, auth, 'sam', 'sam@example.com', 'support');
  const uma = await member(ctx, auth, 'uma', 'uma@example.com');
  // A valid address a spreadsheet would take for a formula: the CSV export must defuse it.
  const bob = await member(ctx, auth, 'bob', '=HYPERLINK.evil@example.com');
  return { ctx, alice: auth, sam, uma, bob };
}

describe('organizations', () => {
  it('admins create; support adds and removes members of user accounts; every change is audited and noticed', async () => {
    const { ctx, alice, sam, uma } = await world();
    expect(() => adminCreateOrg(ctx, sam, 'acme', WHY, {})).toThrow(Forbidden);
    expect(() => adminCreateOrg(ctx, uma, 'acme', WHY, {})).toThrow(Forbidden);
    expect(adminCreateOrg(ctx, alice, 'acme', { ...WHY, dryRun: true }, {}).dryRun).toBe(true);
    expect(adminListOrgs(ctx, alice, {})).toEqual([]);
    adminCreateOrg(ctx, alice, 'acme', WHY, {});
    expect(() => adminCreateOrg(ctx, alice, 'ACME', WHY, {})).toThrow(Conflict);
    expect(() => adminCreateOrg(ctx, alice, 'bad name!', WHY, {})).toThrow(InvalidInput);
    expect(() => adminCreateOrg(ctx, alice, 'other', { reason: '' }, {})).toThrow(InvalidInput);
    await adminAddOrgMember(ctx, sam, 'acme', 'uma', WHY, {});
    await expect(adminAddOrgMember(ctx, sam, 'acme', 'uma', WHY, {})).rejects.toBeInstanceOf(Conflict);
    await expect(adminAddOrgMember(ctx, sam, 'acme', 'alice', WHY, {})).rejects.toBeInstanceOf(Forbidden);
    await expect(adminAddOrgMember(ctx, uma, 'acme', 'uma', WHY, {})).rejects.toBeInstanceOf(Forbidden);
    await expect(adminAddOrgMember(ctx, alice, 'nope', 'uma', WHY, {})).rejects.toBeInstanceOf(NotFound);
    await adminAddOrgMember(ctx, alice, 'acme', 'alice', WHY, {});
    expect(adminListOrgs(ctx, sam, {})).toEqual([
      { name: 'acme', createdAt: expect.any(String) as unknown, createdBy: 'alice', members: ['alice', 'uma'] },
    ]);
    expect(() => adminListOrgs(ctx, uma, {})).toThrow(Forbidden);
    await adminRemoveOrgMember(ctx, sam, 'acme', 'uma', WHY, {});
    await expect(adminRemoveOrgMember(ctx, sam, 'acme', 'uma', WHY, {})).rejects.toBeInstanceOf(NotFound);
    const actions = listAudit(ctx, { limit: 50 })
      .filter((e) => e.action.startsWith('orgs.'))
      .map((e) => `${e.actor} ${e.action} ${e.target} ${e.outcome}`);
    expect(actions).toContain('alice orgs.create acme ok');
    expect(actions).toContain('sam orgs.add-member uma ok');
    expect(actions).toContain('sam orgs.remove-member uma ok');
    expect(actions).toContain('sam orgs.create null refused');
  });

  it('`notifications org` works only for organizations the user belongs to, with one answer for unknown ones', async () => {
    const { ctx, alice, uma } = await world();
    adminCreateOrg(ctx, alice, 'acme', WHY, {});
    const unknown = caught(() => setOrganization(ctx, uma, 'ghost', false));
    const notMember = caught(() => setOrganization(ctx, uma, 'acme', false));
    expect(unknown).toBeInstanceOf(NotFound);
    expect(notMember).toBeInstanceOf(NotFound);
    expect(notMember!.message.replace('acme', 'X')).toBe(unknown!.message.replace('ghost', 'X'));
    await adminAddOrgMember(ctx, alice, 'acme', 'uma', WHY, {});
    expect(notificationSettings(ctx, uma.account).organizations).toEqual({ acme: true });
    expect(setOrganization(ctx, uma, 'ACME', false).organizations).toEqual({ acme: false });
  });
});

describe('mailing recipients', () => {
  it('only verified, unlocked addresses; newsletters opt-in, organizations opt-out; each with its format', async () => {
    const { ctx, alice, sam, uma, bob } = await world();
    setNewsletters(ctx, uma, ['tips'], true);
    setNewsletters(ctx, bob, ['tips'], true);
    setNewsletters(ctx, sam, ['tips'], true);
    setMailFormat(ctx, bob, 'text');
    // Nobody verified yet: nobody gets the newsletter.
    expect(adminRecipients(ctx, alice, { newsletter: 'tips' }, {}).recipients).toEqual([]);
    verify(ctx, 'uma');
    verify(ctx, 'bob');
    verify(ctx, 'sam');
    expect(adminRecipients(ctx, alice, { newsletter: 'tips' }, {})).toEqual({
      newsletter: 'tips',
      organization: null,
      recipients: [
        { username: 'bob', email: expect.stringMatching(/^=HYPERLINK/) as unknown, format: 'text' },
        { username: 'sam', email: 'sam@example.com', format: 'html' },
        { username: 'uma', email: 'uma@example.com', format: 'html' },
      ],
    });
    await lockUser(ctx, alice, 'sam', true, WHY, {});
    expect(adminRecipients(ctx, alice, { newsletter: 'tips' }, {}).recipients.map((r) => r.username)).toEqual([
      'bob',
      'uma',
    ]);
    adminCreateOrg(ctx, alice, 'acme', WHY, {});
    await adminAddOrgMember(ctx, alice, 'acme', 'uma', WHY, {});
    await adminAddOrgMember(ctx, alice, 'acme', 'bob', WHY, {});
    await adminAddOrgMember(ctx, alice, 'acme', 'alice', WHY, {});
    // alice is a member but unverified; bob turns the organization's notices off.
    setOrganization(ctx, bob, 'acme', false);
    expect(adminRecipients(ctx, alice, { org: 'acme' }, {})).toEqual({
      newsletter: null,
      organization: 'acme',
      recipients: [{ username: 'uma', email: 'uma@example.com', format: 'html' }],
    });
    expect(() => adminRecipients(ctx, alice, { newsletter: 'nope' }, {})).toThrow(InvalidInput);
    expect(() => adminRecipients(ctx, alice, {}, {})).toThrow(InvalidInput);
    expect(() => adminRecipients(ctx, alice, { newsletter: 'tips', org: 'acme' }, {})).toThrow(InvalidInput);
    expect(() => adminRecipients(ctx, alice, { org: 'ghost' }, {})).toThrow(NotFound);
    // Admins only: a bulk read of addresses.
    expect(() => adminRecipients(ctx, uma, { org: 'acme' }, {})).toThrow(Forbidden);
    expect(
      listAudit(ctx, { limit: 100 }).some((e) => e.action === 'notifications.recipients' && e.outcome === 'ok'),
    ).toBe(true);
  });
});
