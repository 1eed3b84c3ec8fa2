import { expect } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import {
  contract,
  failure,
  initAlice,
  mailedCode,
  MINUTE,
  PASSWORD,
  signIn,
  type Case,
  type World,
} from './harness.js';

// Issue #20 §3 (the account's address) and §5 (organizations and mailing recipients), the same on
// both back ends.

const WHY = { reason: 'ticket 4711, verified by phone' };
const MEMBER_PASSWORD = 'a plain member passphrase';

async function createAndClaim(world: World, alice: Backend, username: string, role = 'user'): Promise<Backend> {
  const created = await alice.adminCreateUser({
    username,
    email: `${username}@example.com`,
    role,
    printToken: true,
    ...WHY,
  });
  await world.anonymous().recoverWithToken({ username, token: created.resetToken!, newPassword: MEMBER_PASSWORD });
  return signIn(world, username, MEMBER_PASSWORD);
}

const cases: Record<string, Case> = {
  'account email: init sends a code that verifies the address; a change waits for a code to the new address': async (
    world,
    rec,
  ) => {
    const { me, result } = await initAlice(world);
    expect(result.emailCode).toMatchObject({ method: 'email', sentTo: 'alice@example.com' });
    expect(rec(await me.emailShow())).toMatchObject({ address: 'alice@example.com', verified: false, pending: null });
    const first = await mailedCode(world, 'confirm your address');
    expect(rec(await me.confirmEmail(first))).toMatchObject({ verified: true });
    rec(await failure(me.confirmEmail(first)));
    rec(await failure(me.sendEmailConfirmation()));

    // A change needs identity confirmation even inside the 10-minute window.
    const need = rec(await failure(me.changeEmail('alice@new.example.org')));
    expect(need.class).toBe('IdentityRequired');
    const bad = rec(await failure(me.changeEmail('not an address', { password: PASSWORD })));
    expect(bad).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    const mark = world.mail().length;
    const sent = rec(await me.changeEmail('alice@new.example.org', { password: PASSWORD }));
    expect(sent).toMatchObject({ method: 'email', sentTo: 'alice@new.example.org' });
    const code = await mailedCode(world, 'confirm your new address', mark);
    await world.settle();
    const warning = world
      .mail()
      .slice(mark)
      .find((m) => m.subject.includes('was requested'));
    expect(warning?.to).toEqual(['alice@example.com']);
    const pending = rec(await me.emailShow());
    expect(pending).toMatchObject({ address: 'alice@example.com', pending: { address: 'alice@new.example.org' } });
    const throttled = rec(await failure(me.sendEmailConfirmation()));
    expect(throttled).toMatchObject({ class: 'Throttled', exitCode: 6 });
    const wrong = rec(await failure(me.confirmEmail(code === '000000' ? '111111' : '000000')));
    expect(wrong).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const done = rec(await me.confirmEmail(code));
    expect(done).toMatchObject({ address: 'alice@new.example.org', verified: true, pending: null });

    // Cancel: a second change dropped before its code is entered.
    world.clock.advance(MINUTE + 1000);
    rec(await me.changeEmail('alice@third.example.org', { password: PASSWORD }));
    expect(rec(await me.cancelEmailChange())).toMatchObject({ address: 'alice@new.example.org', pending: null });
    const none = rec(await failure(me.cancelEmailChange()));
    expect(none).toMatchObject({ class: 'NotFound', exitCode: 4 });
  },

  'admin users set-email: support starts it, the owner confirms through the new address': async (world, rec) => {
    const { me: alice } = await initAlice(world);
    const sam = await createAndClaim(world, alice, 'sam', 'support');
    const uma = await createAndClaim(world, alice, 'uma');
    const mark = world.mail().length;
    const dry = rec(await sam.adminSetEmail('uma', 'uma@new.example.org', { ...WHY, dryRun: true }));
    expect(dry.dryRun).toBe(true);
    expect(world.mail().length).toBe(mark);
    const r = rec(await sam.adminSetEmail('uma', 'uma@new.example.org', WHY));
    expect(r).toMatchObject({ action: 'users.set-email', target: 'uma', dryRun: false });
    const code = await mailedCode(world, 'confirm your new address', mark);
    expect(JSON.stringify(r)).not.toContain(code);
    const refused = rec(await failure(sam.adminSetEmail('alice', 'x@example.org', WHY)));
    expect(refused).toMatchObject({ class: 'Forbidden', exitCode: 7 });
    const user = rec(await failure(uma.adminSetEmail('sam', 'x@example.org', WHY)));
    expect(user).toMatchObject({ class: 'Forbidden', exitCode: 7 });
    const noReason = rec(await failure(sam.adminSetEmail('uma', 'x@example.org', { reason: '' })));
    expect(noReason).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    expect(rec(await uma.confirmEmail(code))).toMatchObject({ address: 'uma@new.example.org', verified: true });
  },

  'organizations: create, members, member-only notices, recipients by newsletter and organization': async (
    world,
    rec,
  ) => {
    const { me: alice } = await initAlice(world);
    const sam = await createAndClaim(world, alice, 'sam', 'support');
    const uma = await createAndClaim(world, alice, 'uma');
    rec(await failure(sam.adminCreateOrg('acme', WHY)));
    rec(await alice.adminCreateOrg('acme', WHY));
    rec(await failure(alice.adminCreateOrg('acme', WHY)));
    rec(await failure(alice.adminCreateOrg('not valid!', WHY)));
    const notMember = rec(await failure(uma.setOrganizationNotifications('acme', false)));
    expect(notMember).toMatchObject({ class: 'NotFound', exitCode: 4 });
    rec(await sam.adminAddOrgMember('acme', 'uma', WHY));
    rec(await failure(sam.adminAddOrgMember('acme', 'alice', WHY)));
    rec(await failure(uma.adminAddOrgMember('acme', 'uma', WHY)));
    rec(await alice.adminAddOrgMember('acme', 'sam', WHY));
    const orgs = rec(await sam.adminListOrgs());
    expect(orgs.map((o) => [o.name, o.members])).toEqual([['acme', ['sam', 'uma']]]);
    rec(await failure(uma.adminListOrgs()));
    expect(rec(await uma.setOrganizationNotifications('acme', false)).organizations).toEqual({ acme: false });
    rec(await alice.adminRemoveOrgMember('acme', 'uma', WHY));
    rec(await failure(alice.adminRemoveOrgMember('acme', 'uma', WHY)));

    // Recipients: verified addresses only.
    rec(await uma.setNewsletters(['tips'], true));
    expect(rec(await alice.adminRecipients({ newsletter: 'tips' })).recipients).toEqual([]);
    // `admin users create` sent uma a code; a new one a minute later.
    world.clock.advance(MINUTE + 1000);
    const mark = world.mail().length;
    rec(await uma.sendEmailConfirmation());
    rec(await uma.confirmEmail(await mailedCode(world, 'confirm your address', mark)));
    rec(await uma.setNotificationFormat('text'));
    expect(rec(await alice.adminRecipients({ newsletter: 'tips' }))).toEqual({
      newsletter: 'tips',
      organization: null,
      recipients: [{ username: 'uma', email: 'uma@example.com', format: 'text' }],
    });
    expect(rec(await alice.adminRecipients({ org: 'acme' })).recipients).toEqual([]);
    const both = rec(await failure(alice.adminRecipients({ newsletter: 'tips', org: 'acme' })));
    expect(both).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    rec(await failure(alice.adminRecipients({ org: 'ghost' })));
    const support = rec(await failure(sam.adminRecipients({ newsletter: 'tips' })));
    expect(support).toMatchObject({ class: 'Forbidden', exitCode: 7 });
  },
};

contract(import.meta.url, cases);
