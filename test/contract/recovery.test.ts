import { expect } from 'vitest';
import {
  contract,
  failure,
  initAlice,
  mailedCode,
  MINUTE,
  NEW_PASSWORD,
  PASSWORD,
  signIn,
  type Case,
  type World,
} from './harness.js';

// Recovery addresses and account recovery by email code (SPEC §4.2, §5); notification preferences.

const BACKUP = 'alice.backup@example.net';

/** Alice with a verified recovery address. */
async function aliceWithBackup(world: World) {
  const { me } = await initAlice(world);
  const mark = world.mail().length;
  await me.addRecoveryEmail(BACKUP);
  await me.confirmRecoveryEmail(BACKUP, await mailedCode(world, 'confirm this recovery address', mark));
  return { me };
}

const cases: Record<string, Case> = {
  'recovery addresses: add sends a code, confirm verifies, list and remove': async (world, rec) => {
    const { me } = await initAlice(world);
    expect(rec(await me.listRecoveryEmails())).toEqual([]);
    const mark = world.mail().length;
    const sent = rec(await me.addRecoveryEmail(BACKUP));
    expect(sent).toMatchObject({ method: 'email', sentTo: BACKUP });
    const code = await mailedCode(world, 'confirm this recovery address', mark);
    expect(world.mail()[mark]?.to).toEqual([BACKUP]);
    const pending = rec(await me.listRecoveryEmails());
    expect(pending).toEqual([expect.objectContaining({ address: BACKUP, verified: false, verifiedAt: null })]);
    const wrong = rec(await failure(me.confirmRecoveryEmail(BACKUP, code === '000000' ? '111111' : '000000')));
    expect(wrong).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const unknown = rec(await failure(me.confirmRecoveryEmail('nobody@example.org', code)));
    expect(unknown).toMatchObject({ class: 'NotFound', exitCode: 4 });
    const ok = rec(await me.confirmRecoveryEmail(BACKUP, code));
    expect(ok).toMatchObject({
      address: BACKUP,
      verified: true,
      verifiedAt: new Date(world.clock.now()).toISOString(),
    });
    rec(await failure(me.confirmRecoveryEmail(BACKUP, code)));
    const again = rec(await failure(me.addRecoveryEmail(BACKUP)));
    expect(again).toMatchObject({ class: 'Conflict', exitCode: 5 });
    rec(await failure(me.addRecoveryEmail('not an address')));
    world.clock.advance(11 * MINUTE);
    const need = rec(await failure(me.removeRecoveryEmail(BACKUP)));
    expect(need.class).toBe('IdentityRequired');
    rec(await me.removeRecoveryEmail(BACKUP, { password: PASSWORD }));
    expect(rec(await me.listRecoveryEmails())).toEqual([]);
    rec(await failure(me.removeRecoveryEmail(BACKUP)));
  },

  'recover: a code sent to the verified address sets a new password and signs every session out': async (
    world,
    rec,
  ) => {
    const { me } = await aliceWithBackup(world);
    world.clock.advance(MINUTE);
    const mark = world.mail().length;
    const answer = rec(await world.anonymous().sendRecoveryCode('alice'));
    expect(answer.message).toContain('if that account has a verified recovery address');
    const code = await mailedCode(world, 'your account recovery code', mark);
    const weak = rec(await failure(world.anonymous().recover({ username: 'alice', code, newPassword: 'elevenchars' })));
    expect(weak).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    const wrong = rec(
      await failure(
        world
          .anonymous()
          .recover({ username: 'alice', code: code === '000000' ? '111111' : '000000', newPassword: NEW_PASSWORD }),
      ),
    );
    expect(wrong).toMatchObject({ class: 'AuthFailed', message: 'wrong or expired recovery code', exitCode: 3 });
    const badMethod = rec(
      await failure(world.anonymous().recover({ username: 'alice', code, newPassword: NEW_PASSWORD, method: 'sms' })),
    );
    expect(badMethod).toMatchObject({ class: 'InvalidInput', details: { field: '--method' } });
    const done = rec(await world.anonymous().recover({ username: 'alice', code, newPassword: NEW_PASSWORD }));
    expect(done).toEqual({ username: 'alice', revokedSessions: 1 });
    rec(await failure(me.status()));
    rec(await failure(world.anonymous().recover({ username: 'alice', code, newPassword: 'yet another passphrase' })));
    await signIn(world, 'alice', NEW_PASSWORD);
    rec(await failure(world.anonymous().signIn({ username: 'alice', password: PASSWORD })));
  },

  'recover answers the same for an unknown user, one without an address, and a wrong code': async (world, rec) => {
    await initAlice(world);
    const anon = world.anonymous();
    const a = rec(await anon.sendRecoveryCode('alice'));
    const b = rec(await anon.sendRecoveryCode('nobody-here'));
    expect(a).toEqual(b);
    const unknown = rec(
      await failure(anon.recover({ username: 'nobody-here', code: '123456', newPassword: NEW_PASSWORD })),
    );
    const known = rec(await failure(anon.recover({ username: 'alice', code: '123456', newPassword: NEW_PASSWORD })));
    expect(unknown).toEqual(known);
    // No message was sent for either (alice has no recovery address).
    await world.settle();
    expect(world.mail().filter((m) => m.subject.includes('recovery code'))).toEqual([]);
  },

  'notification settings: format, newsletters, organizations': async (world, rec) => {
    const { me } = await initAlice(world);
    const initial = rec(await me.notificationSettings());
    expect(initial.format).toBe('html');
    expect(Object.keys(initial.newsletters)).toEqual(expect.arrayContaining(['product-news', 'tips']));
    const text = rec(await me.setNotificationFormat('text'));
    expect(text.format).toBe('text');
    const bad = rec(await failure(me.setNotificationFormat('pdf')));
    expect(bad).toMatchObject({ class: 'InvalidInput', exitCode: 2, details: { field: 'format' } });
    const subscribed = rec(await me.setNewsletters(['tips', 'events'], true));
    expect(subscribed.newsletters).toMatchObject({ tips: true, events: true });
    const off = rec(await me.setNewsletters(['tips'], false));
    expect(off.newsletters.tips).toBe(false);
    const unknown = rec(await failure(me.setNewsletters(['spam'], true)));
    expect(unknown.message).toContain('unknown list "spam"');
    rec(await failure(me.setNewsletters([], true)));
    const security = rec(await failure(me.setNewsletters(['security'], false)));
    expect(security).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    expect(security.message).toContain('are always sent');
    // Issue #20 §5: only an organization the user belongs to; the same answer for one that does not exist.
    const notMember = rec(await failure(me.setOrganizationNotifications('acme-corp', true)));
    expect(notMember).toMatchObject({ class: 'NotFound', exitCode: 4 });
    rec(await me.adminCreateOrg('acme-corp', { reason: 'a customer' }));
    const stillNot = rec(await failure(me.setOrganizationNotifications('acme-corp', true)));
    expect(stillNot.message.replace('acme-corp', 'X')).toBe(notMember.message.replace('acme-corp', 'X'));
    rec(await me.adminAddOrgMember('acme-corp', 'alice', { reason: 'works there' }));
    const org = rec(await me.setOrganizationNotifications('acme-corp', true));
    expect(org.organizations).toEqual({ 'acme-corp': true });
    rec(await me.setOrganizationNotifications('acme-corp', false));
    rec(await failure(me.setOrganizationNotifications('not a valid org!', true)));
    expect(rec(await me.notificationSettings())).toMatchObject({
      format: 'text',
      newsletters: { events: true, tips: false },
    });
  },

  'plain-text accounts get mail without an HTML part': async (world, rec) => {
    const { me } = await initAlice(world);
    await me.setNotificationFormat('text');
    const mark = world.mail().length;
    await me.addRecoveryEmail(BACKUP);
    await mailedCode(world, 'confirm this recovery address', mark);
    const m = world.mail()[mark]!;
    rec(m.subject);
    expect(m.text).not.toContain('text/html');
  },
};

contract(import.meta.url, cases);
