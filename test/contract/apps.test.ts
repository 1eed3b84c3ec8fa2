import { expect } from 'vitest';
import { contract, failure, initAlice, MINUTE, PASSWORD, signIn, type Case } from './harness.js';

// Issue #21: OAuth applications, the same on both back ends. The grants themselves are made by the
// provider in `acctsec serve` (test/server/oauth.test.ts drives it with openid-client and Chromium);
// here, the registry and the calls around it.

const WHY = { reason: 'phishing report #812' };
const REDIRECT = 'https://printer.example/callback';

const cases: Record<string, Case> = {
  'apps: register (secret once, only its hash kept), list, show, rotate, delete; bad input refused': async (
    world,
    rec,
  ) => {
    const { me } = await initAlice(world);
    const created = rec(
      await me.createApp({ name: 'Photo printer', redirectUris: [REDIRECT] }, { password: PASSWORD }),
    );
    expect(created).toMatchObject({ name: 'Photo printer', owner: 'alice', public: false, redirectUris: [REDIRECT] });
    expect(created.clientId).toMatch(/^app_[0-9A-Za-z]{22}$/);
    expect(created.clientSecret).toMatch(/^acsapp_[0-9A-Za-z]{38}$/);
    const pub = rec(
      await me.createApp(
        { name: 'Desktop sync', redirectUris: ['http://127.0.0.1:8765/cb'], public: true },
        { password: PASSWORD },
      ),
    );
    expect(pub.clientSecret).toBeUndefined();
    const listed = rec(await me.listApps());
    expect(listed.map((a) => a.name).sort()).toEqual(['Desktop sync', 'Photo printer']);
    expect(JSON.stringify(listed)).not.toContain(created.clientSecret!);
    expect(rec(await me.showApp('photo printer'))).not.toHaveProperty('clientSecret');

    for (const uri of [
      'http://printer.example/cb',
      'https://printer.example/cb#x',
      'printer',
      'https://u:p@x.example/',
    ]) {
      const bad = rec(await failure(me.createApp({ name: 'Bad', redirectUris: [uri] }, { password: PASSWORD })));
      expect(bad).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    }
    const noName = rec(await failure(me.createApp({ name: ' ', redirectUris: [REDIRECT] }, { password: PASSWORD })));
    expect(noName).toMatchObject({ class: 'InvalidInput', exitCode: 2 });

    const rotated = rec(await me.rotateAppSecret(created.clientId, { password: PASSWORD }));
    expect(rotated.clientSecret).toMatch(/^acsapp_/);
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    expect(rec(await failure(me.rotateAppSecret('Desktop sync', { password: PASSWORD })))).toMatchObject({
      class: 'InvalidInput',
    });
    world.clock.advance(11 * MINUTE);
    const proofNeeded = rec(await failure(me.deleteApp('Photo printer')));
    expect(proofNeeded.class).toBe('IdentityRequired');
    rec(await me.deleteApp('Photo printer', { password: PASSWORD }));
    expect(rec(await failure(me.showApp(created.clientId)))).toMatchObject({ class: 'NotFound', exitCode: 4 });
    expect(rec(await me.authorizedApps())).toEqual([]);
    expect(rec(await failure(me.revokeAuthorizedApp('Photo printer')))).toMatchObject({ class: 'NotFound' });
  },

  'apps: another account cannot see or delete mine; support lists and disables (audited); keys rotate for admins only':
    async (world, rec) => {
      const { me: alice } = await initAlice(world);
      const app = await alice.createApp({ name: 'Calendar', redirectUris: [REDIRECT] }, { password: PASSWORD });
      const made = await alice.adminCreateUser({
        username: 'bob',
        email: 'bob@example.com',
        printToken: true,
        ...WHY,
      });
      await world.anonymous().recoverWithToken({
        username: 'bob',
        token: made.resetToken!,
        newPassword: 'a long passphrase of the second person',
      });
      const bob = await signIn(world, 'bob', 'a long passphrase of the second person');
      expect(rec(await failure(bob.showApp(app.clientId)))).toMatchObject({ class: 'NotFound', exitCode: 4 });
      expect(
        rec(await failure(bob.deleteApp(app.clientId, { password: 'a long passphrase of the second person' }))),
      ).toMatchObject({
        class: 'NotFound',
      });
      expect(rec(await failure(bob.adminListApps()))).toMatchObject({ class: 'Forbidden', exitCode: 7 });
      expect(rec(await failure(bob.adminSetAppDisabled(app.clientId, true, WHY)))).toMatchObject({
        class: 'Forbidden',
      });
      expect(rec(await failure(bob.adminRotateOAuthKeys(WHY)))).toMatchObject({ class: 'Forbidden' });

      expect(rec(await alice.adminListApps()).map((a) => [a.name, a.owner])).toEqual([['Calendar', 'alice']]);
      expect(rec(await failure(alice.adminSetAppDisabled(app.clientId, true, { reason: ' ' })))).toMatchObject({
        class: 'InvalidInput',
      });
      const off = rec(await alice.adminSetAppDisabled(app.clientId, true, WHY));
      expect(off.disabled).toMatchObject({ by: 'alice', reason: WHY.reason });
      rec(await failure(alice.adminSetAppDisabled(app.clientId, true, WHY)));
      expect(rec(await alice.adminSetAppDisabled(app.clientId, false, WHY)).disabled).toBeNull();
      const audit = await alice.adminAudit({ actor: 'alice' });
      expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['apps.disable', 'apps.enable']));
      const key = rec(await alice.adminRotateOAuthKeys(WHY));
      expect(key.kid).toMatch(/^\d{4}-\d{2}-\d{2}-/);
    },

  'apps: a name is unique per owner; more than 10 redirect URIs or a bad one named in the message; support disables apps of user accounts only':
    async (world, rec) => {
      const { me: alice } = await initAlice(world);
      await alice.createApp({ name: 'Calendar', redirectUris: [REDIRECT] }, { password: PASSWORD });
      expect(
        rec(await failure(alice.createApp({ name: 'calendar', redirectUris: [REDIRECT] }, { password: PASSWORD }))),
      ).toMatchObject({ class: 'Conflict', exitCode: 5 });
      const many = Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`);
      expect(
        rec(await failure(alice.createApp({ name: 'Many', redirectUris: many }, { password: PASSWORD }))),
      ).toMatchObject({
        class: 'InvalidInput',
        message: expect.stringContaining('at most 10 redirect URIs') as unknown,
      });
      expect(
        rec(
          await failure(
            alice.createApp({ name: 'Plain', redirectUris: ['http://printer.example/cb'] }, { password: PASSWORD }),
          ),
        ),
      ).toMatchObject({ message: expect.stringContaining('"http://printer.example/cb"') as unknown });
      const made = await alice.adminCreateUser({
        username: 'sam',
        email: 'sam@example.com',
        role: 'support',
        printToken: true,
        ...WHY,
      });
      await world.anonymous().recoverWithToken({
        username: 'sam',
        token: made.resetToken!,
        newPassword: 'a long passphrase of the support person',
      });
      const sam = await signIn(world, 'sam', 'a long passphrase of the support person');
      expect(rec(await sam.adminListApps()).map((a) => a.owner)).toEqual(['alice']);
      const mine = (await alice.listApps())[0]!;
      expect(rec(await failure(sam.adminSetAppDisabled(mine.clientId, true, WHY)))).toMatchObject({
        class: 'Forbidden',
        exitCode: 7,
      });
    },
};

contract(import.meta.url, cases);
