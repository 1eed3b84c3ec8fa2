import { expect } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { contract, failure, initAlice, NEW_PASSWORD, PASSWORD, totpAt, type Case, type World } from './harness.js';

// Throttles that must not lock the owner out (issue #15), and concurrent calls: one code, one use.

async function aliceWithTotp(world: World): Promise<{ me: Backend; secret: string; codes: string[] }> {
  const { me } = await initAlice(world);
  const { secret } = await me.beginTotp({ password: PASSWORD });
  const { recoveryCodes } = await me.confirmTotp(totpAt(world, secret));
  world.clock.advance(30_000);
  return { me, secret, codes: recoveryCodes };
}

const wrong = (code: string) => (code === '000000' ? '111111' : '000000');

/** Outcomes of parallel calls, as a sorted list of "ok" and error classes. */
async function outcomes(calls: Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(calls);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as Error).constructor.name)).sort();
}

const cases: Record<string, Case> = {
  'five wrong app codes at sign-in, then the sixth is throttled (exit 6) with the wait': async (world, rec) => {
    const { secret } = await aliceWithTotp(world);
    const anon = world.anonymous();
    const attempt = (code: string) =>
      anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code } });
    for (let i = 0; i < 5; i++) rec(await failure(attempt(wrong(totpAt(world, secret)))));
    const sixth = rec(await failure(attempt(totpAt(world, secret))));
    expect(sixth).toMatchObject({ class: 'Throttled', exitCode: 6 });
    expect(sixth.details.retryAfterSeconds).toBeGreaterThan(0);
  },

  "six wrong recovery calls (no password needed) do not stop the owner's sign-in": async (world, rec) => {
    const { secret } = await aliceWithTotp(world);
    const anon = world.anonymous();
    const recover = () =>
      anon.recover({ username: 'alice', code: '000000', newPassword: 'an outsider tries this one' });
    for (let i = 0; i < 5; i++) expect(rec(await failure(recover())).exitCode).toBe(3);
    expect(rec(await failure(recover())).exitCode).toBe(6);
    const ok = rec(
      await anon.signIn({
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'totp', code: totpAt(world, secret) },
      }),
    );
    expect(ok.status).toBe('signed-in');
  },

  "wrong codes at identity confirmation fill only that session's throttle": async (world, rec) => {
    const { me, secret } = await aliceWithTotp(world);
    for (let i = 0; i < 5; i++)
      expect(rec(await failure(me.viewRecoveryCodes(wrong(totpAt(world, secret))))).exitCode).toBe(3);
    expect(rec(await failure(me.viewRecoveryCodes(totpAt(world, secret)))).exitCode).toBe(6);
    const r = await world
      .anonymous()
      .signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: totpAt(world, secret) } });
    expect(rec(r).status).toBe('signed-in');
    if (r.status !== 'signed-in') return;
    world.clock.advance(30_000);
    const fresh = world.as(r.session.token);
    expect(rec(await fresh.viewRecoveryCodes(totpAt(world, secret))).codes).toHaveLength(10);
  },

  '12 parallel sign-ins with the right password all succeed': async (world, rec) => {
    await initAlice(world);
    const anon = world.anonymous();
    const results = rec(
      await outcomes(Array.from({ length: 12 }, () => anon.signIn({ username: 'alice', password: PASSWORD }))),
    );
    expect(results).toEqual(Array(12).fill('ok'));
    expect(rec((await initAliceSessions(world)).length)).toBe(13);
  },

  'one recovery code used by 20 parallel sign-ins: exactly one signs in': async (world, rec) => {
    const { codes } = await aliceWithTotp(world);
    const anon = world.anonymous();
    const results = rec(
      await outcomes(
        Array.from({ length: 20 }, () =>
          anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code: codes[0]! } }),
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.every((r) => r === 'ok' || r === 'AuthFailed' || r === 'Throttled')).toBe(true);
  },

  'one app code used by 20 parallel sign-ins: exactly one is accepted': async (world, rec) => {
    const { secret } = await aliceWithTotp(world);
    const anon = world.anonymous();
    const code = totpAt(world, secret);
    const results = rec(
      await outcomes(
        Array.from({ length: 20 }, () =>
          anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code } }),
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
  },

  'two password changes at once: one succeeds, the other finds the password changed': async (world, rec) => {
    const { me } = await initAlice(world);
    const results = rec(
      await outcomes([
        me.changePassword({ current: PASSWORD, next: NEW_PASSWORD }),
        me.changePassword({ current: PASSWORD, next: 'another fine passphrase' }),
      ]),
    );
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(results.every((r) => r === 'ok' || r === 'AuthFailed')).toBe(true);
  },

  'a password change sends one security notice, in the account’s format': async (world, rec) => {
    const { me } = await initAlice(world);
    await world.settle();
    let mark = world.mail().length;
    await me.changePassword({ current: PASSWORD, next: NEW_PASSWORD });
    await world.settle();
    const notices = rec(
      world
        .mail()
        .slice(mark)
        .map((m) => ({ to: m.to, subject: m.subject })),
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]!.subject).toMatch(/password was changed/);
    expect(world.mail()[mark]!.text).toMatch(/text\/html/);
    await me.setNotificationFormat('text');
    mark = world.mail().length;
    await me.changePassword({ current: NEW_PASSWORD, next: 'another fine passphrase' });
    await world.settle();
    const plain = world.mail().slice(mark);
    expect(plain).toHaveLength(1);
    expect(plain[0]!.text).not.toMatch(/text\/html/i);
  },
};

async function initAliceSessions(world: World) {
  const r = await world.anonymous().signIn({ username: 'alice', password: PASSWORD });
  if (r.status !== 'signed-in') throw new Error(r.status);
  const sessions = await world.as(r.session.token).listSessions();
  return sessions.filter((s) => !s.current);
}

contract(import.meta.url, cases);
