import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import {
  ALICE,
  collect,
  DAY,
  contract,
  failure,
  HOUR,
  initAlice,
  MINUTE,
  NEW_PASSWORD,
  PASSWORD,
  signIn,
  type Case,
} from './harness.js';

// Set-up, sign-in, sign-out, status, activity, password and username changes, sessions.

const cases: Record<string, Case> = {
  'init creates the first account, an admin, and signs it in': async (world, rec) => {
    const { result, me } = await initAlice(world);
    // A server never names its own files (issue #14); locally the CLI is told where they are.
    const { database, keyFile, ...shared } = result;
    if (world.name === 'local') expect([database, keyFile].every((p) => typeof p === 'string')).toBe(true);
    else expect([database, keyFile]).toEqual([undefined, undefined]);
    expect(shared.account).toEqual({ username: 'alice', email: 'alice@example.com', role: 'admin' });
    expect(shared.session.username).toBe('alice');
    rec(shared);
    const status = rec(await me.status());
    expect(status.username).toBe('alice');
    expect(status.role).toBe('admin');
    expect(status.sessions).toHaveLength(1);
    expect(status.sessions[0]!.current).toBe(true);
    rec(await me.mfaStatus());
  },

  // Issue #14, documented: over HTTP the first init needs the server's one-time bootstrap secret, and
  // spends it; `acctsec init --db` on the database's own host needs none.
  'the bootstrap secret: needed over HTTP, spent by the first init': async (world) => {
    const anon = world.anonymous();
    if (world.name === 'remote') {
      expect(world.bootstrapSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      for (const secret of [undefined, 'not-the-secret']) {
        const refused = await failure(anon.init({ ...ALICE }, secret));
        expect(refused).toMatchObject({ class: 'Forbidden', code: 'bootstrap_required', exitCode: 7 });
      }
      expect(existsSync(`${world.dir}/acctsec.db.bootstrap-secret`)).toBe(true);
    } else {
      expect(world.bootstrapSecret).toBeUndefined();
    }
    await initAlice(world);
    expect(existsSync(`${world.dir}/acctsec.db.bootstrap-secret`)).toBe(false);
    // Spent: the same secret does not init again (exit 5, as locally).
    const again = await failure(anon.init({ ...ALICE, username: 'bob' }, world.bootstrapSecret));
    expect(again).toMatchObject({ class: 'Conflict', exitCode: 5 });
  },

  'a second init is refused (exit 5), whatever the input': async (world, rec) => {
    await initAlice(world);
    const again = rec(
      await failure(
        world
          .anonymous()
          .init({ username: 'bob', email: 'bob@example.com', password: PASSWORD }, world.bootstrapSecret),
      ),
    );
    expect(again.exitCode).toBe(5);
  },

  'init refuses a weak password and a bad username with exit 2, creating nothing': async (world, rec) => {
    const weak = rec(
      await failure(world.anonymous().init({ ...ALICE, password: 'elevenchars' }, world.bootstrapSecret)),
    );
    expect(weak).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    expect(weak.message).toContain('it needs at least 12');
    const name = rec(
      await failure(world.anonymous().init({ ...ALICE, username: 'no spaces allowed' }, world.bootstrapSecret)),
    );
    expect(name.exitCode).toBe(2);
    // Nothing was created: the real init still works (and the bootstrap secret is still unspent).
    await initAlice(world);
  },

  'sign-in with the password opens a new session': async (world, rec) => {
    await initAlice(world);
    const r = rec(await world.anonymous().signIn({ username: 'alice', password: PASSWORD }));
    expect(r.status).toBe('signed-in');
    if (r.status !== 'signed-in') return;
    expect(r.session.username).toBe('alice');
    const sessions = rec(await world.as(r.session.token).listSessions());
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
  },

  'a wrong password and an unknown user fail alike: AuthFailed, exit 3, one message': async (world, rec) => {
    await initAlice(world);
    const wrong = rec(
      await failure(world.anonymous().signIn({ username: 'alice', password: 'wrong password, really' })),
    );
    const unknown = rec(await failure(world.anonymous().signIn({ username: 'mallory', password: PASSWORD })));
    expect(wrong).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(unknown).toEqual(wrong);
  },

  'the sixth attempt after five wrong passwords is throttled (exit 6), even with the right one': async (world, rec) => {
    await initAlice(world);
    for (let i = 0; i < 5; i++) {
      rec(await failure(world.anonymous().signIn({ username: 'alice', password: `wrong-${i}-password` })));
    }
    const sixth = await failure(world.anonymous().signIn({ username: 'alice', password: PASSWORD }));
    expect(sixth).toMatchObject({ class: 'Throttled', code: 'throttled', exitCode: 6 });
    expect(sixth.message).toMatch(/try again in \d+ (s|min)/);
    expect(sixth.details.retryAfterSeconds).toBeGreaterThan(0);
    rec(sixth);
    // An unknown user is throttled the same way.
    for (let i = 0; i < 5; i++)
      await failure(world.anonymous().signIn({ username: 'mallory', password: `wrong-${i}-password` }));
    rec(await failure(world.anonymous().signIn({ username: 'mallory', password: PASSWORD })));
  },

  'a success resets the failure count': async (world, rec) => {
    await initAlice(world);
    for (let i = 0; i < 4; i++)
      await failure(world.anonymous().signIn({ username: 'alice', password: `wrong-${i}-password` }));
    rec((await world.anonymous().signIn({ username: 'alice', password: PASSWORD })).status);
    for (let i = 0; i < 4; i++)
      await failure(world.anonymous().signIn({ username: 'alice', password: `wrong-${i}-password` }));
    rec((await world.anonymous().signIn({ username: 'alice', password: PASSWORD })).status);
  },

  'without a session, account calls fail with exit 3 naming acctsec login': async (world, rec) => {
    await initAlice(world);
    const anon = world.anonymous();
    const status = rec(await failure(anon.status()));
    expect(status).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(status.message).toContain('acctsec login');
    rec(await failure(anon.listSessions()));
    rec(await failure(world.as('not-a-session-token').status()));
  },

  'sign-out ends the session; the token is refused afterwards': async (world, rec) => {
    const { me } = await initAlice(world);
    rec(await me.signOut());
    const after = rec(await failure(me.status()));
    expect(after.exitCode).toBe(3);
    rec(await failure(me.signOut()));
  },

  'activity lists sign-in failures and successes, newest first, and honours the limit': async (world, rec) => {
    await initAlice(world);
    await failure(world.anonymous().signIn({ username: 'alice', password: 'wrong password, really' }));
    world.clock.advance(MINUTE);
    const me = await signIn(world, 'alice', PASSWORD);
    const log = rec(await me.activity(50));
    expect(log.map((e) => e.event).slice(0, 2)).toEqual(['signin.succeeded', 'signin.failed']);
    rec(await me.activity(1));
    expect(await me.activity(1)).toHaveLength(1);
  },

  'activity refuses a limit outside 1-1000 with exit 2': async (world, rec) => {
    const { me } = await initAlice(world);
    for (const limit of [0, -1, 1001]) {
      const bad = rec(await failure(me.activity(limit)));
      expect(bad).toMatchObject({ class: 'InvalidInput', exitCode: 2, details: { field: 'limit' } });
    }
  },

  'password change: a wrong current password is AuthFailed and changes nothing': async (world, rec) => {
    const { me } = await initAlice(world);
    const r = rec(await failure(me.changePassword({ current: 'not the password at all', next: NEW_PASSWORD })));
    expect(r).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(r.message).toContain('current password is wrong');
    await signIn(world, 'alice', PASSWORD);
  },

  'password change: policy refusals are InvalidInput naming the rule': async (world, rec) => {
    const { me } = await initAlice(world);
    const short = rec(await failure(me.changePassword({ current: PASSWORD, next: 'elevenchars' })));
    expect(short.message).toContain('has 11 characters; it needs at least 12');
    const common = rec(await failure(me.changePassword({ current: PASSWORD, next: 'password1234' })));
    expect(common.message).toContain('common leaked passwords');
    const name = rec(await failure(me.changePassword({ current: PASSWORD, next: 'alice-and-her-cat' })));
    expect(name.message).toContain('contains the username');
    const same = rec(await failure(me.changePassword({ current: PASSWORD, next: PASSWORD })));
    expect(same.message).toContain('is the current password');
    for (const e of [short, common, name, same]) expect(e).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
  },

  'password change signs out the other sessions, keeps this one, and is logged': async (world, rec) => {
    const { me } = await initAlice(world);
    const other = await signIn(world, 'alice', PASSWORD);
    world.clock.advance(MINUTE);
    const r = rec(await me.changePassword({ current: PASSWORD, next: NEW_PASSWORD }));
    expect(r.revokedSessions).toBe(1);
    expect(typeof r.strength.score).toBe('number');
    rec(await failure(other.status()));
    expect((await me.status()).passwordChangedAt).toBe(new Date(world.clock.now()).toISOString());
    rec(await failure(world.anonymous().signIn({ username: 'alice', password: PASSWORD })));
    await signIn(world, 'alice', NEW_PASSWORD);
    const log = rec(await me.activity(20));
    expect(log.map((e) => e.event)).toContain('password.changed');
    expect(JSON.stringify(log)).not.toContain(NEW_PASSWORD);
  },

  'a password-only account is told NIST asks for 15 characters': async (world, rec) => {
    const { me } = await initAlice(world);
    const r = rec(await me.changePassword({ current: PASSWORD, next: 'tangerine-owl7' }));
    expect(r.notices.join(' ')).toContain('15 characters');
  },

  'username change outside the 10-minute window needs identity: IdentityRequired with the accepted methods': async (
    world,
    rec,
  ) => {
    const { me } = await initAlice(world);
    world.clock.advance(11 * MINUTE);
    const need = rec(await failure(me.changeUsername('alice2')));
    expect(need).toMatchObject({ class: 'IdentityRequired', code: 'identity_required', exitCode: 3 });
    expect(need.details).toEqual({ accepts: { password: true, methods: [] } });
    const wrong = rec(await failure(me.changeUsername('alice2', { password: 'not the password at all' })));
    expect(wrong).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const ok = rec(await me.changeUsername('alice2', { password: PASSWORD }));
    expect(ok).toEqual({ username: 'alice2', previous: 'alice' });
    // The proof reopened the window: the next change needs none.
    rec(await me.changeUsername('alice3'));
    await signIn(world, 'alice3', PASSWORD);
    rec(await failure(me.changeUsername('no spaces allowed')));
  },

  'sessions: list, revoke one by id, revoke the others': async (world, rec) => {
    const { me } = await initAlice(world);
    const second = await signIn(world, 'alice', PASSWORD);
    const third = await signIn(world, 'alice', PASSWORD);
    const list = rec(await me.listSessions());
    expect(list).toHaveLength(3);
    const current = list.find((s) => s.current)!;
    // The address is known over HTTP only (SPEC §6: local calls have none).
    expect(current.ip).toBe(world.name === 'remote' ? '127.0.0.1' : null);
    const target = (await second.listSessions()).find((s) => s.current)!;
    rec(await me.revokeSession(target.id));
    rec(await failure(second.status()));
    rec(await failure(me.revokeSession('no-such-session')));
    world.clock.advance(HOUR);
    const need = rec(await failure(me.revokeOtherSessions()));
    expect(need.class).toBe('IdentityRequired');
    const others = rec(await me.revokeOtherSessions({ password: PASSWORD }));
    expect(others).toEqual({ revoked: 1 });
    rec(await failure(third.status()));
    const left = rec(await me.listSessions());
    expect(left.map((s) => s.id)).toEqual([current.id]);
  },

  'status shows the account, its sessions and notices': async (world, rec) => {
    const { me } = await initAlice(world);
    world.clock.advance(HOUR);
    const status = rec(await me.status());
    expect(status).toMatchObject({
      username: 'alice',
      email: 'alice@example.com',
      legacyApiKey: false,
      ipAllowList: [],
    });
    expect(status.tokens.active).toBe(0);
  },

  'close releases a back end; a new one for the same session works': async (world, rec) => {
    const { me, token } = await initAlice(world);
    rec(await me.status());
    // Promise<void>: undefined locally, null from undici's pool; not compared.
    await me.close();
    const again = world.as(token);
    rec((await again.status()).username);
    await again.close();
  },

  'a session idle for 24 hours expires; one used in between does not': async (world, rec) => {
    const { me } = await initAlice(world);
    const busy = await signIn(world, 'alice', PASSWORD);
    world.clock.advance(23 * HOUR);
    rec(await busy.status());
    world.clock.advance(2 * HOUR);
    const expired = rec(await failure(me.status()));
    expect(expired).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(expired.message).toContain('expired');
    rec((await busy.status()).sessions.length);
  },

  'after six months the password is due for rotation: status says so': async (world, rec) => {
    await initAlice(world);
    world.clock.advance(185 * DAY);
    const r = rec(await world.anonymous().signIn({ username: 'alice', password: PASSWORD }));
    expect(r.status).toBe('signed-in');
    if (r.status !== 'signed-in') return;
    const status = rec(await world.as(r.session.token).status());
    expect(status.passwordRotationDue).toBe(true);
    expect(status.notices.join(' ')).toMatch(/password/);
  },

  'the admin user list streams the accounts': async (world, rec) => {
    const { me } = await initAlice(world);
    const users = rec(await collect(me.adminListUsers()));
    expect(users.map((u) => u.username)).toEqual(['alice']);
  },
};

contract(import.meta.url, cases);
