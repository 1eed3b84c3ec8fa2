import { expect } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { IdentityProof, KeyCeremonyAnswer } from '../../src/views.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../soft-authenticator.js';
import { contract, failure, initAlice, MINUTE, NEW_PASSWORD, PASSWORD, type Case, type World } from './harness.js';

// Security keys (SPEC §4.3). The browser's part (the page fetches the ceremony's options and posts the
// authenticator's answer, by the ceremony's id, without a session) is played through the same back
// end by test/soft-authenticator.ts, signing for the world's relying party.

/** The page's side of a registration: options, the authenticator's answer, posted. */
async function pageRegisters(world: World, ceremonyId: string, key: SoftAuthenticator): Promise<void> {
  const page = world.anonymous();
  const { purpose, publicKey } = await page.keyCeremonyOptions(ceremonyId);
  expect(purpose).toBe('register');
  const response = key.register(publicKey as unknown as CreationOptions, world.relyingParty.origin);
  await page.submitKeyCeremony(ceremonyId, { response } as unknown as KeyCeremonyAnswer);
}

/** The page's side of an assertion; returns the ceremony id, the key method's "code". */
async function pageAsserts(world: World, ceremonyId: string, key: SoftAuthenticator): Promise<string> {
  const page = world.anonymous();
  const { publicKey } = await page.keyCeremonyOptions(ceremonyId);
  const response = key.assert(publicKey as unknown as RequestOptions, world.relyingParty.origin);
  await page.submitKeyCeremony(ceremonyId, { response } as unknown as KeyCeremonyAnswer);
  return ceremonyId;
}

async function register(world: World, me: Backend, name: string, proof: IdentityProof, key = new SoftAuthenticator()) {
  const c = await me.beginKeyRegistration(name, proof);
  await pageRegisters(world, c.ceremonyId, key);
  const added = await me.finishKeyRegistration(c.ceremonyId);
  return { key, added };
}

/** A proof by an assertion of `key` (a fresh proof ceremony). */
async function keyProof(world: World, me: Backend, key: SoftAuthenticator): Promise<IdentityProof> {
  const p = await me.beginKeyProof();
  return { secondFactor: { method: 'key', code: await pageAsserts(world, p.ceremonyId, key) } };
}

const cases: Record<string, Case> = {
  'registration: the ceremony, the page, the wait, the finish; the first key brings recovery codes': async (
    world,
    rec,
  ) => {
    const { me } = await initAlice(world);
    const need = rec(await failure(me.beginKeyRegistration('blue')));
    expect(need).toMatchObject({ class: 'IdentityRequired', details: { accepts: { password: true, methods: [] } } });
    const c = rec(await me.beginKeyRegistration('blue', { password: PASSWORD }));
    expect(c).toMatchObject({ purpose: 'register', expiresAt: new Date(world.clock.now() + 5 * MINUTE).toISOString() });
    expect(c.url).toContain(c.ceremonyId);
    expect(c.url.startsWith(world.relyingParty.origin)).toBe(true);
    expect(rec(await world.anonymous().awaitKeyCeremony(c.ceremonyId, 0))).toEqual({ state: 'waiting' });
    rec(await failure(me.finishKeyRegistration(c.ceremonyId)));
    const key = new SoftAuthenticator();
    await pageRegisters(world, c.ceremonyId, key);
    expect(rec(await world.anonymous().awaitKeyCeremony(c.ceremonyId, 1000))).toEqual({ state: 'answered' });
    const added = rec(await me.finishKeyRegistration(c.ceremonyId));
    expect(added.key).toMatchObject({ name: 'blue', lastUsedAt: null });
    expect(added.recoveryCodes).toHaveLength(10);
    rec(await failure(me.finishKeyRegistration(c.ceremonyId)));
    const keys = rec(await me.listKeys());
    expect(keys.map((k) => k.name)).toEqual(['blue']);
    const status = rec(await me.mfaStatus());
    expect(status.methods.find((m) => m.type === 'key')).toMatchObject({ enabled: true, keys: 1 });
    // A second key needs an assertion of the first (the seed's rule), and brings no new codes.
    const second = await register(world, me, 'green', await keyProof(world, me, key));
    expect(rec(second.added).recoveryCodes).toBeNull();
  },

  'sign-in with a key: the password starts a ceremony, its answered id signs in once': async (world, rec) => {
    const { me } = await initAlice(world);
    const { key } = await register(world, me, 'blue', { password: PASSWORD });
    const anon = world.anonymous();
    const asked = rec(await anon.signIn({ username: 'alice', password: PASSWORD }));
    expect(asked.status).toBe('second-factor-required');
    if (asked.status === 'second-factor-required') expect(asked.methods.map((m) => m.id)).toEqual(['key', 'recovery']);
    rec(await failure(anon.beginKeySignIn({ username: 'alice', password: 'wrong password, really' })));
    const c = rec(await anon.beginKeySignIn({ username: 'alice', password: PASSWORD }));
    expect(c.purpose).toBe('signin');
    const code = await pageAsserts(world, c.ceremonyId, key);
    const ok = rec(await anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code } }));
    expect(ok.status).toBe('signed-in');
    const again = rec(
      await failure(anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code } })),
    );
    expect(again).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(again.message).toContain('already used');
    expect(rec(await me.listKeys())[0]?.lastUsedAt).toBe(new Date(world.clock.now()).toISOString());
  },

  'a ceremony takes one answer; a browser error is reported, not verified; unknown and expired ids are NotFound':
    async (world, rec) => {
      const { me } = await initAlice(world);
      const { key } = await register(world, me, 'blue', { password: PASSWORD });
      const anon = world.anonymous();
      const c = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
      rec(
        await anon.submitKeyCeremony(c.ceremonyId, {
          error: 'NotAllowedError: The operation either timed out or was not allowed.',
        }),
      );
      const failed = rec(await anon.awaitKeyCeremony(c.ceremonyId, 0));
      expect(failed).toMatchObject({ state: 'failed', message: expect.stringContaining('NotAllowedError') as unknown });
      rec(await failure(anon.submitKeyCeremony(c.ceremonyId, { error: 'again' })));
      const reported = rec(
        await failure(
          anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code: c.ceremonyId } }),
        ),
      );
      expect(reported.message).toContain('browser reported');
      const late = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
      world.clock.advance(5 * MINUTE + 1);
      expect(rec(await anon.awaitKeyCeremony(late.ceremonyId, 0))).toEqual({ state: 'expired' });
      rec(await failure(anon.keyCeremonyOptions(late.ceremonyId)));
      const unknown = rec(await failure(anon.keyCeremonyOptions('no-such-ceremony')));
      expect(unknown).toMatchObject({ class: 'NotFound', exitCode: 4 });
      void key;
    },

  'a malformed page answer is InvalidInput with one message': async (world, rec) => {
    const { me } = await initAlice(world);
    await register(world, me, 'blue', { password: PASSWORD });
    const anon = world.anonymous();
    const c = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
    const malformed = rec(
      await failure(anon.submitKeyCeremony(c.ceremonyId, { response: { id: 'x' } } as unknown as KeyCeremonyAnswer)),
    );
    expect(malformed).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    // The ceremony still takes a proper answer.
    expect(await anon.awaitKeyCeremony(c.ceremonyId, 0)).toEqual({ state: 'waiting' });
  },

  'refused: an earlier answer replayed into a new ceremony, a tampered signature, a cloned key': async (world, rec) => {
    const { me } = await initAlice(world);
    const { key } = await register(world, me, 'blue', { password: PASSWORD });
    const anon = world.anonymous();
    const attempt = (code: string) =>
      anon.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code } });
    // An answer captured from one sign-in, posted to a new ceremony (its challenge differs).
    const first = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
    const { publicKey } = await anon.keyCeremonyOptions(first.ceremonyId);
    const captured = key.assert(publicKey as unknown as RequestOptions, world.relyingParty.origin);
    const second = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
    rec(await anon.submitKeyCeremony(second.ceremonyId, { response: captured } as unknown as KeyCeremonyAnswer));
    const again = rec(
      await failure(anon.submitKeyCeremony(second.ceremonyId, { response: captured } as unknown as KeyCeremonyAnswer)),
    );
    expect(again).toMatchObject({ class: 'NotFound', exitCode: 4 });
    const replay = rec(await failure(attempt(second.ceremonyId)));
    expect(replay).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(replay.message).toMatch(/did not verify/);
    // One bit of the signature flipped on its way out.
    const third = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
    const response = key.assert(
      (await anon.keyCeremonyOptions(third.ceremonyId)).publicKey as unknown as RequestOptions,
      world.relyingParty.origin,
    );
    const sig = Buffer.from(response.response.signature, 'base64url');
    sig[sig.length - 1]! ^= 1;
    response.response.signature = sig.toString('base64url');
    await anon.submitKeyCeremony(third.ceremonyId, { response } as unknown as KeyCeremonyAnswer);
    expect(rec(await failure(attempt(third.ceremonyId))).message).toMatch(/did not verify/);
    // The genuine key works; a clone whose counter went backwards does not.
    const ok = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
    expect(rec(await attempt(await pageAsserts(world, ok.ceremonyId, key))).status).toBe('signed-in');
    key.counter = 0;
    const clone = await anon.beginKeySignIn({ username: 'alice', password: PASSWORD });
    expect(rec(await failure(attempt(await pageAsserts(world, clone.ceremonyId, key)))).message).toMatch(/cloned/);
  },

  'rename; remove with an assertion; the last key needs the yes and takes the recovery codes along': async (
    world,
    rec,
  ) => {
    const { me } = await initAlice(world);
    const { key: blue } = await register(world, me, 'blue', { password: PASSWORD });
    const { key: green } = await register(world, me, 'green', await keyProof(world, me, blue));
    expect(rec(await me.renameKey('green', 'spare')).name).toBe('spare');
    rec(await failure(me.renameKey('spare', 'blue')));
    rec(await failure(me.renameKey('nope', 'x')));
    const need = rec(await failure(me.removeKey('blue', false)));
    expect(need).toMatchObject({
      class: 'IdentityRequired',
      details: { accepts: { password: false, methods: ['key'] } },
    });
    rec(await failure(me.removeKey('blue', false, { password: PASSWORD })));
    const removed = rec(await me.removeKey('blue', false, await keyProof(world, me, green)));
    expect(removed).toEqual({ removed: 'blue', remainingMethods: ['key'] });
    const proof = await keyProof(world, me, green);
    const last = rec(await failure(me.removeKey('spare', false, proof)));
    expect(last.message).toContain('--yes');
    expect(rec(await me.removeKey('spare', true, proof))).toEqual({ removed: 'spare', remainingMethods: [] });
    expect(rec(await me.mfaStatus()).recoveryCodesLeft).toBeNull();
    expect(rec(await world.anonymous().signIn({ username: 'alice', password: PASSWORD })).status).toBe('signed-in');
  },

  'a key-only account views and renews its recovery codes with a key assertion': async (world, rec) => {
    const { me } = await initAlice(world);
    const { key, added } = await register(world, me, 'blue', { password: PASSWORD });
    rec(await failure(me.viewRecoveryCodes('123456')));
    const p1 = await me.beginKeyProof();
    expect(rec(p1).purpose).toBe('proof');
    const view = rec(await me.viewRecoveryCodes(await pageAsserts(world, p1.ceremonyId, key), 'key'));
    expect(view.codes).toEqual(added.recoveryCodes);
    const p2 = await me.beginKeyProof();
    const renewed = rec(await me.regenerateRecoveryCodes(await pageAsserts(world, p2.ceremonyId, key), 'key'));
    expect(renewed.codes.filter((c) => added.recoveryCodes!.includes(c))).toEqual([]);
    const used = rec(await failure(me.viewRecoveryCodes(p2.ceremonyId, 'key')));
    expect(used.message).toContain('already used');
  },

  'recovery with a key: the same options for every username; the key sets a new password': async (world, rec) => {
    const { me } = await initAlice(world);
    const { key } = await register(world, me, 'blue', { password: PASSWORD });
    const anon = world.anonymous();
    const shape = async (name: string) => {
      const c = await anon.beginKeyRecovery(name);
      const { challenge: _challenge, ...rest } = (await anon.keyCeremonyOptions(c.ceremonyId)).publicKey;
      return { purpose: c.purpose, expiresAt: c.expiresAt, options: rest };
    };
    const alice = rec(await shape('alice'));
    expect(await shape('nobody-here')).toEqual(alice);
    const unknown = await anon.beginKeyRecovery('nobody-here');
    const refused = rec(
      await failure(
        anon.recover({ username: 'nobody-here', code: unknown.ceremonyId, newPassword: NEW_PASSWORD, method: 'key' }),
      ),
    );
    expect(refused).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const c = await anon.beginKeyRecovery('alice');
    const code = await pageAsserts(world, c.ceremonyId, key);
    const done = rec(await anon.recover({ username: 'alice', code, newPassword: NEW_PASSWORD, method: 'key' }));
    expect(done).toEqual({ username: 'alice', revokedSessions: 1 });
    rec(await failure(anon.recover({ username: 'alice', code, newPassword: 'another new passphrase', method: 'key' })));
    rec(await failure(me.status()));
  },
};

contract(import.meta.url, cases);
