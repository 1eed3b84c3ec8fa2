import { expect } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { TotpEnabled } from '../../src/views.js';
import {
  contract,
  failure,
  initAlice,
  mailedCode,
  MINUTE,
  PASSWORD,
  totpAt,
  type Case,
  type World,
  type WorldOptions,
} from './harness.js';

// Second factors: the authenticator app, recovery codes, email codes; identity confirmation with them.

/** Alice with the authenticator app on; the clock then stands one period after the confirming code. */
async function aliceWithTotp(world: World): Promise<{ me: Backend; secret: string; enabled: TotpEnabled }> {
  const { me } = await initAlice(world);
  const { secret } = await me.beginTotp({ password: PASSWORD });
  const enabled = await me.confirmTotp(totpAt(world, secret));
  world.clock.advance(30_000);
  return { me, secret, enabled };
}

const cases: Record<string, Case | { options: WorldOptions; run: Case }> = {
  'TOTP enrolment: identity always, then a pending secret confirmed by a code, with 10 recovery codes': async (
    world,
    rec,
  ) => {
    const { me } = await initAlice(world);
    // Always confirmed, even inside the 10-minute window (SPEC §4.1).
    const need = rec(await failure(me.beginTotp()));
    expect(need).toMatchObject({
      class: 'IdentityRequired',
      exitCode: 3,
      details: { accepts: { password: true, methods: [] } },
    });
    const wrong = rec(await failure(me.beginTotp({ password: 'not the password at all' })));
    expect(wrong).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const enrolment = rec(await me.beginTotp({ password: PASSWORD }));
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.uri).toContain(`secret=${enrolment.secret}`);
    expect(enrolment.expiresAt).toBe(new Date(world.clock.now() + 10 * MINUTE).toISOString());
    const bad = rec(await failure(me.confirmTotp('000000' === totpAt(world, enrolment.secret) ? '111111' : '000000')));
    expect(bad).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const enabled = rec(await me.confirmTotp(totpAt(world, enrolment.secret)));
    expect(enabled.enabled).toBe(true);
    expect(enabled.recoveryCodes).toHaveLength(10);
    for (const c of enabled.recoveryCodes) expect(c).toMatch(/^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
    const status = rec(await me.mfaStatus());
    expect(status.methods.find((m) => m.type === 'totp')).toMatchObject({ enabled: true });
    expect(status.recoveryCodesLeft).toBe(10);
    const again = rec(await failure(me.beginTotp({ password: PASSWORD })));
    expect(again).toMatchObject({ class: 'Conflict', exitCode: 5 });
    rec(await failure(me.confirmTotp(totpAt(world, enrolment.secret))));
  },

  'TOTP confirm without a pending enrolment, or after it expired, is NotFound': async (world, rec) => {
    const { me } = await initAlice(world);
    const none = rec(await failure(me.confirmTotp('123456')));
    expect(none).toMatchObject({ class: 'NotFound', exitCode: 4 });
    const { secret } = await me.beginTotp({ password: PASSWORD });
    world.clock.advance(11 * MINUTE);
    const expired = rec(await failure(me.confirmTotp(totpAt(world, secret))));
    expect(expired).toMatchObject({ class: 'NotFound', exitCode: 4 });
  },

  'sign-in with TOTP: the password asks for a second factor, then a code signs in once': async (world, rec) => {
    const { secret } = await aliceWithTotp(world);
    const anon = world.anonymous();
    const first = rec(await anon.signIn({ username: 'alice', password: PASSWORD }));
    expect(first.status).toBe('second-factor-required');
    if (first.status === 'second-factor-required') expect(first.methods.map((m) => m.id)).toEqual(['totp', 'recovery']);
    const wrongPassword = rec(
      await failure(
        anon.signIn({
          username: 'alice',
          password: 'wrong password, really',
          secondFactor: { method: 'totp', code: totpAt(world, secret) },
        }),
      ),
    );
    expect(wrongPassword.class).toBe('AuthFailed');
    const code = totpAt(world, secret);
    const wrongCode = rec(
      await failure(
        anon.signIn({
          username: 'alice',
          password: PASSWORD,
          secondFactor: { method: 'totp', code: code === '000000' ? '111111' : '000000' },
        }),
      ),
    );
    expect(wrongCode).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const ok = rec(
      await anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code } }),
    );
    expect(ok.status).toBe('signed-in');
    const replay = rec(
      await failure(anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code } })),
    );
    expect(replay).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(replay.message).toContain('already used');
    // The previous period's code is still accepted (clock drift), the next one's too.
    world.clock.advance(30_000);
    rec(
      await anon.signIn({
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'totp', code: totpAt(world, secret, 1) },
      }),
    );
  },

  'TOTP disable: the last method needs the yes and a current code; recovery codes go with it': async (world, rec) => {
    const { me, secret } = await aliceWithTotp(world);
    const last = rec(await failure(me.disableTotp(totpAt(world, secret), false)));
    expect(last).toMatchObject({ class: 'InvalidInput', exitCode: 2, details: { field: '--yes' } });
    const code = totpAt(world, secret);
    rec(await failure(me.disableTotp(code === '000000' ? '111111' : '000000', true)));
    const off = rec(await me.disableTotp(code, true));
    expect(off).toEqual({ disabled: true, remainingMethods: [] });
    const status = rec(await me.mfaStatus());
    expect(status.recoveryCodesLeft).toBeNull();
    rec(await failure(me.disableTotp(code, true)));
    const r = rec(await world.anonymous().signIn({ username: 'alice', password: PASSWORD }));
    expect(r.status).toBe('signed-in');
  },

  'recovery codes: view and regenerate need a fresh app code; each code signs in once': async (world, rec) => {
    const { me, secret, enabled } = await aliceWithTotp(world);
    rec(await failure(me.viewRecoveryCodes('000000x')));
    const view = rec(await me.viewRecoveryCodes(totpAt(world, secret)));
    expect(view.codes).toEqual(enabled.recoveryCodes);
    world.clock.advance(30_000);
    const noKey = rec(await failure(me.viewRecoveryCodes(totpAt(world, secret), 'key')));
    expect(noKey).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    const fresh = rec(await me.regenerateRecoveryCodes(totpAt(world, secret)));
    expect(fresh.codes).toHaveLength(10);
    expect(fresh.codes).not.toContain(enabled.recoveryCodes[0]);
    const anon = world.anonymous();
    const old = rec(
      await failure(
        anon.signIn({
          username: 'alice',
          password: PASSWORD,
          secondFactor: { method: 'recovery', code: enabled.recoveryCodes[0]! },
        }),
      ),
    );
    expect(old).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const used = rec(
      await anon.signIn({
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'recovery', code: fresh.codes[0]! },
      }),
    );
    expect(used.status).toBe('signed-in');
    if (used.status === 'signed-in') expect(used.notices).toContain('recovery code accepted; 9 left');
    const twice = rec(
      await failure(
        anon.signIn({
          username: 'alice',
          password: PASSWORD,
          secondFactor: { method: 'recovery', code: fresh.codes[0]! },
        }),
      ),
    );
    expect(twice.message).toContain('wrong or already used recovery code');
    // Typed loosely: upper case, no dashes.
    rec(
      await anon.signIn({
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'recovery', code: fresh.codes[1]!.replace(/-/g, '').toUpperCase() },
      }),
    );
    expect((await me.mfaStatus()).recoveryCodesLeft).toBe(8);
  },

  'recovery codes without an authenticator are a Conflict': async (world, rec) => {
    const { me } = await initAlice(world);
    rec(await failure(me.viewRecoveryCodes('123456')));
    const r = rec(await failure(me.regenerateRecoveryCodes('123456')));
    expect(r).toMatchObject({ class: 'Conflict', exitCode: 5 });
  },

  'identity confirmation accepts the password or an app code once TOTP is on': async (world, rec) => {
    const { me, secret } = await aliceWithTotp(world);
    world.clock.advance(11 * MINUTE);
    const need = rec(await failure(me.changeUsername('alice2')));
    expect(need.details).toEqual({ accepts: { password: true, methods: ['totp'] } });
    rec(await me.changeUsername('alice2', { secondFactor: { method: 'totp', code: totpAt(world, secret) } }));
    world.clock.advance(11 * MINUTE);
    rec(await me.changeUsername('alice3', { password: PASSWORD }));
    // Enabling email codes now needs an app code, not the password (the seed's rule).
    const email = rec(await failure(me.beginEmailMfa({ password: PASSWORD })));
    expect(email).toMatchObject({
      class: 'IdentityRequired',
      details: { accepts: { password: false, methods: ['totp'] } },
    });
  },

  'email codes: enable with a mailed code, sign in with one, confirm identity with one, disable': async (
    world,
    rec,
  ) => {
    const { me } = await initAlice(world);
    const need = rec(await failure(me.beginEmailMfa()));
    expect(need.class).toBe('IdentityRequired');
    const sent = rec(await me.beginEmailMfa({ password: PASSWORD }));
    expect(sent).toMatchObject({ method: 'email', sentTo: 'a***@example.com' });
    expect(sent.notices?.[0]).toContain('NIST SP 800-63B rev 4');
    const tooSoon = rec(await failure(me.resendEmailMfa()));
    expect(tooSoon).toMatchObject({ class: 'Throttled', exitCode: 6 });
    world.clock.advance(MINUTE);
    const mark = world.mail().length;
    rec(await me.resendEmailMfa());
    const code = await mailedCode(world, 'confirm email codes', mark);
    rec(await failure(me.confirmEmailMfa(code === '000000' ? '111111' : '000000')));
    const on = rec(await me.confirmEmailMfa(code));
    expect(on).toEqual({ enabled: true, address: 'alice@example.com' });
    rec(await failure(me.resendEmailMfa()));
    const status = rec(await me.mfaStatus());
    expect(status.methods.find((m) => m.type === 'email')).toMatchObject({
      enabled: true,
      address: 'alice@example.com',
    });

    // Sign-in: the password, then a code sent to the address.
    const anon = world.anonymous();
    const asked = rec(await anon.signIn({ username: 'alice', password: PASSWORD }));
    expect(asked.status).toBe('second-factor-required');
    const wrongPw = rec(
      await failure(anon.sendSignInCode({ username: 'alice', password: 'wrong password, really', method: 'email' })),
    );
    expect(wrongPw.class).toBe('AuthFailed');
    let m = world.mail().length;
    rec(await anon.sendSignInCode({ username: 'alice', password: PASSWORD, method: 'email' }));
    const signInCode = await mailedCode(world, 'your sign-in code', m);
    const ok = rec(
      await anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'email', code: signInCode } }),
    );
    expect(ok.status).toBe('signed-in');
    rec(
      await failure(
        anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'email', code: signInCode } }),
      ),
    );

    // A code to confirm identity.
    world.clock.advance(11 * MINUTE);
    const totp = rec(await failure(me.sendFactorCode('totp')));
    expect(totp).toMatchObject({ class: 'NotFound', exitCode: 4 });
    m = world.mail().length;
    rec(await me.sendFactorCode('email'));
    const proofCode = await mailedCode(world, 'your sign-in code', m);
    rec(await me.changeUsername('alice2', { secondFactor: { method: 'email', code: proofCode } }));

    // Disable: a fresh code, and the yes for the last method.
    world.clock.advance(MINUTE);
    m = world.mail().length;
    await me.sendFactorCode('email');
    const offCode = await mailedCode(world, 'your sign-in code', m);
    rec(await failure(me.disableEmailMfa(offCode, false)));
    const off = rec(await me.disableEmailMfa(offCode, true));
    expect(off).toEqual({ disabled: true, remainingMethods: [] });
    rec(await failure(me.confirmEmailMfa('123456')));
  },

  'email codes turned off by policy: enabling is Forbidden (exit 7)': {
    options: { policy: { allowEmailMfa: false } },
    run: async (world, rec) => {
      const { me } = await initAlice(world);
      const r = rec(await failure(me.beginEmailMfa({ password: PASSWORD })));
      expect(r).toMatchObject({ class: 'Forbidden', exitCode: 7 });
      expect(r.message).toContain('policy.allowEmailMfa');
    },
  },

  'a mail server that cannot be reached: Unavailable (exit 8) naming it, and email codes stay off': {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    options: { smtp: 'smtp://127.0.0.1:1' },
    run: async (world, rec) => {
      const { me } = await initAlice(world);
      const r = rec(await failure(me.beginEmailMfa({ password: PASSWORD })));
      expect(r).toMatchObject({ class: 'Unavailable', exitCode: 8 });
      expect(r.message).toContain('127.0.0.1:1');
      const status = rec(await me.mfaStatus());
      expect(status.methods.find((m) => m.type === 'email')?.enabled).toBe(false);
      rec(await failure(me.confirmEmailMfa('123456')));
    },
  },

  'the second factors of one account are independent: disabling one leaves the other': async (world, rec) => {
    const { me, secret } = await aliceWithTotp(world);
    const sent = rec(await me.beginEmailMfa({ secondFactor: { method: 'totp', code: totpAt(world, secret) } }));
    expect(sent.method).toBe('email');
    const code = await mailedCode(world, 'confirm email codes');
    rec(await me.confirmEmailMfa(code));
    world.clock.advance(30_000);
    const off = rec(await me.disableTotp(totpAt(world, secret), false));
    expect(off.remainingMethods).toEqual(['email']);
    // Recovery codes stay while a method is left.
    expect((await me.mfaStatus()).recoveryCodesLeft).toBe(10);
  },
};

contract(import.meta.url, cases);
