import { expect } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { TotpEnabled } from '../../src/views.js';
import {
  contract,
  DAY,
  failure,
  initAlice,
  mailedCode,
  MINUTE,
  PASSWORD,
  totpAt,
  type Case,
  type World,
} from './harness.js';

// Issue #20 §2: the repair window of a recovery-code sign-in; recovery codes with email codes only.
// Issue #20 §4: security notices for username change, session/token revoke, API key delete, and a
// sign-in from a new device or address.

async function aliceWithTotp(world: World): Promise<{ me: Backend; secret: string; enabled: TotpEnabled }> {
  const { me } = await initAlice(world);
  const { secret } = await me.beginTotp({ password: PASSWORD });
  const enabled = await me.confirmTotp(totpAt(world, secret));
  world.clock.advance(30_000);
  return { me, secret, enabled };
}

/** Signs in with a recovery code: the lost-phone path. */
async function recoverySignIn(world: World, code: string) {
  const r = await world
    .anonymous()
    .signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code } });
  if (r.status !== 'signed-in') throw new Error(r.status);
  return { result: r, me: world.as(r.session.token) };
}

function subjects(world: World, since: number): string[] {
  return world
    .mail()
    .slice(since)
    .map((m) => m.subject);
}

const cases: Record<string, Case> = {
  'a recovery-code sign-in opens a 10-minute repair window: the lost app goes and a new one comes without its code':
    async (world, rec) => {
      const { enabled } = await aliceWithTotp(world);
      const { result, me } = await recoverySignIn(world, enabled.recoveryCodes[0]!);
      const until = new Date(world.clock.now() + 10 * MINUTE).toISOString();
      expect(rec(result.repairWindowUntil)).toBe(until);
      expect(rec((await me.status()).repairWindowUntil)).toBe(until);
      expect(rec((await me.mfaStatus()).repairWindowUntil)).toBe(until);
      world.clock.advance(MINUTE);
      const mark = world.mail().length;
      // No code from the lost app; the last method still needs the explicit yes.
      rec(await failure(me.disableTotp('', false)));
      const off = rec(await me.disableTotp('', true));
      expect(off.remainingMethods).toEqual([]);
      // No second factor is left: enrolling asks for the password, as it always does then.
      const need = rec(await failure(me.beginTotp()));
      expect(need).toMatchObject({ class: 'IdentityRequired', details: { accepts: { password: true, methods: [] } } });
      const { secret } = rec(await me.beginTotp({ password: PASSWORD }));
      const again = rec(await me.confirmTotp(totpAt(world, secret)));
      expect(again.recoveryCodes).toHaveLength(10);
      await world.settle();
      expect(subjects(world, mark)).toEqual(
        expect.arrayContaining([
          expect.stringContaining('the authenticator app was turned off as a second factor (in the repair window'),
          expect.stringContaining('the authenticator app was turned on as a second factor (in the repair window'),
        ]),
      );
      const log = await me.activity(20);
      expect(log.find((e) => e.event === 'mfa.totp.disabled')?.detail).toMatchObject({ repairWindow: true });
      expect(log.find((e) => e.event === 'mfa.totp.enabled')?.detail).toEqual({ repairWindow: true });
      expect(log.find((e) => e.event === 'signin.succeeded')?.detail).toEqual({
        method: 'recovery',
        repairWindowUntil: until,
      });
    },

  'in the window a new method is enrolled while the lost one is still on, then the lost one removed': async (
    world,
    rec,
  ) => {
    const { enabled } = await aliceWithTotp(world);
    const { me } = await recoverySignIn(world, enabled.recoveryCodes[0]!);
    // Email codes would need a code of the app: the window stands for it.
    const sent = rec(await me.beginEmailMfa());
    expect(sent.method).toBe('email');
    rec(await me.confirmEmailMfa(await mailedCode(world, 'confirm email codes')));
    const off = rec(await me.disableTotp('', false));
    expect(off.remainingMethods).toEqual(['email']);
    const log = await me.activity(20);
    expect(log.find((e) => e.event === 'identity.confirmed')?.detail).toEqual({ method: 'repair-window' });
  },

  'the window closes 10 minutes after the sign-in, whatever is done in it': async (world, rec) => {
    const { enabled } = await aliceWithTotp(world);
    const { me } = await recoverySignIn(world, enabled.recoveryCodes[0]!);
    world.clock.advance(9 * MINUTE);
    // A confirmation in the window (the password) reopens the sudo window, never the repair window.
    rec(await me.changeUsername('alice2', { password: PASSWORD }));
    world.clock.advance(MINUTE);
    expect(rec((await me.status()).repairWindowUntil)).toBeNull();
    expect(rec((await me.mfaStatus()).repairWindowUntil)).toBeNull();
    const refused = rec(await failure(me.disableTotp('', true)));
    expect(refused).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const need = rec(await failure(me.beginEmailMfa()));
    expect(need).toMatchObject({
      class: 'IdentityRequired',
      details: { accepts: { password: false, methods: ['totp'] } },
    });
  },

  'a normal sign-in opens no window': async (world, rec) => {
    const { secret } = await aliceWithTotp(world);
    const r = rec(
      await world.anonymous().signIn({
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'totp', code: totpAt(world, secret) },
      }),
    );
    expect(r.status === 'signed-in' && r.repairWindowUntil).toBeUndefined();
    const me = world.as(r.status === 'signed-in' ? r.session.token : '');
    expect(rec((await me.status()).repairWindowUntil)).toBeNull();
    rec(await failure(me.disableTotp('', true)));
    const need = rec(await failure(me.beginEmailMfa()));
    expect(need.class).toBe('IdentityRequired');
  },

  'the window gives nothing but second-factor changes: recovery codes still need a fresh code': async (world, rec) => {
    const { enabled } = await aliceWithTotp(world);
    const { me } = await recoverySignIn(world, enabled.recoveryCodes[0]!);
    rec(await failure(me.viewRecoveryCodes('')));
    const r = rec(await failure(me.regenerateRecoveryCodes('', 'totp')));
    expect(r).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    world.clock.advance(9 * MINUTE);
    // Enrolling in the window did not reopen the sudo window: a token still needs the usual proof after it.
    rec(await me.beginEmailMfa());
    world.clock.advance(2 * MINUTE);
    const token = rec(await failure(me.createToken({ name: 'ci', scopes: ['dns:read'], resources: [] })));
    expect(token.class).toBe('IdentityRequired');
  },

  'recovery codes outlive the app while email codes stay on: sign-in, view and regenerate with an emailed code': async (
    world,
    rec,
  ) => {
    const { me, secret, enabled } = await aliceWithTotp(world);
    rec(await me.beginEmailMfa({ secondFactor: { method: 'totp', code: totpAt(world, secret) } }));
    rec(await me.confirmEmailMfa(await mailedCode(world, 'confirm email codes')));
    world.clock.advance(30_000);
    rec(await me.disableTotp(totpAt(world, secret), false));
    expect((await me.mfaStatus()).recoveryCodesLeft).toBe(10);
    const { result } = await recoverySignIn(world, enabled.recoveryCodes[1]!);
    expect(result.notices).toContain('recovery code accepted; 9 left');
    // The app is gone: its code is refused with a message naming the method that works.
    const wrongMethod = rec(await failure(me.viewRecoveryCodes('123456', 'totp')));
    expect(wrongMethod).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    expect(wrongMethod.message).toContain('--method email');
    let mark = world.mail().length;
    rec(await me.sendFactorCode('email'));
    const view = rec(await me.viewRecoveryCodes(await mailedCode(world, 'sign-in code', mark), 'email'));
    expect(view.codes).toHaveLength(9);
    world.clock.advance(2 * MINUTE);
    mark = world.mail().length;
    rec(await me.sendFactorCode('email'));
    const fresh = rec(await me.regenerateRecoveryCodes(await mailedCode(world, 'sign-in code', mark), 'email'));
    expect(fresh.codes).toHaveLength(10);
    const bad = rec(await failure(me.regenerateRecoveryCodes('000000', 'email')));
    expect(bad).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
  },

  'security notices: username change, sessions signed out, token revoked, API key deleted': async (world, rec) => {
    const { me } = await initAlice(world);
    const other = await world.anonymous().signIn({ username: 'alice', password: PASSWORD });
    const third = await world.anonymous().signIn({ username: 'alice', password: PASSWORD });
    const mark = world.mail().length;
    rec(await me.changeUsername('alice2'));
    rec(await me.revokeSession(other.status === 'signed-in' ? other.session.sessionId : ''));
    rec(await me.revokeOtherSessions());
    const token = rec(await me.createToken({ name: 'ci', scopes: ['dns:read'], resources: [] }));
    rec(await me.revokeToken(token.id));
    rec(await me.generateApiKey());
    rec(await me.deleteApiKey());
    await world.settle();
    const sent = subjects(world, mark);
    for (const what of [
      'your username was changed from alice to alice2',
      `the session ${other.status === 'signed-in' ? other.session.sessionId : ''} was signed out`,
      'every other session was signed out (1)',
      'the access token "ci" was revoked',
      'the legacy API key was deleted',
    ])
      expect(sent).toContain(`acctsec security notice: ${what}`);
    expect(third.status).toBe('signed-in');
    const events = (await me.activity(30)).map((e) => e.event);
    for (const e of [
      'username.changed',
      'session.revoked',
      'sessions.revoked_others',
      'token.revoked',
      'apikey.deleted',
    ])
      expect(events).toContain(e);
    const settings = rec(await me.notificationSettings());
    expect(settings.alwaysOn).toEqual(
      expect.arrayContaining([
        'username changed',
        'sessions signed out',
        'sign-in from a new device or address',
        'recovery QR code created, revoked or used',
        'account email changed',
      ]),
    );
  },

  'a sign-in from a new device is notified once; a device unseen for 90 days is new again': async (world, rec) => {
    await initAlice(world);
    const signIn = async (client?: string) => {
      const r = await world
        .anonymous()
        .signIn({ username: 'alice', password: PASSWORD, ...(client ? { client } : {}) });
      expect(r.status).toBe('signed-in');
      await world.settle();
      return r.status === 'signed-in' ? world.as(r.session.token) : world.anonymous();
    };
    const newSignIn = () => subjects(world, 0).filter((s) => s.includes('a sign-in from a new device'));
    // The device init ran from: known.
    await signIn();
    expect(rec(newSignIn().length)).toBe(0);
    const me = await signIn('acctsec/9.9.9 on other-laptop (profile default)');
    expect(rec(newSignIn().length)).toBe(1);
    expect(newSignIn()[0]).toContain('other-laptop');
    // Seen now; an upgrade of the client is the same device.
    await signIn('acctsec/9.9.10 on other-laptop (profile default)');
    expect(rec(newSignIn().length)).toBe(1);
    const log = await me.activity(30);
    expect(log.filter((e) => e.event === 'signin.new_source')).toHaveLength(1);
    world.clock.advance(91 * DAY);
    await signIn('acctsec/9.9.10 on other-laptop (profile default)');
    expect(rec(newSignIn().length)).toBe(2);
  },
};

contract(import.meta.url, cases);
