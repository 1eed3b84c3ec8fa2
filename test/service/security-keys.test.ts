import { describe, expect, it } from 'vitest';
import { AuthFailed, Conflict, IdentityRequired, InvalidInput, NotFound } from '../../src/errors.js';
import { createUser, recoverWithResetToken, resetMfa } from '../../src/service/admin.js';
import { recoverWithCode } from '../../src/service/recovery-emails.js';
import { recoveryCodesLeft } from '../../src/service/recovery-code-set.js';
import { regenerateRecoveryCodes, viewRecoveryCodes } from '../../src/service/recovery-codes.js';
import { mfaOverview } from '../../src/service/second-factors.js';
import {
  beginKeyProof,
  beginKeyRecovery,
  beginKeyRegistration,
  beginKeySignIn,
  CEREMONY_MS,
  ceremonyOptions,
  ceremonyState,
  finishKeyRegistration,
  listKeys,
  removeKey,
  renameKey,
  submitCeremonyAnswer,
} from '../../src/service/security-keys.js';
import { authenticate } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { beginTotpEnrollment, confirmTotpEnrollment } from '../../src/service/totp.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../soft-authenticator.js';
import { answer, register, RP } from './key-ceremonies.js';
import { insertAccount } from '../../src/store/accounts.js';
import { PASSWORD, testContext, withAlice } from './context.js';

// SPEC §4.3 in the service layer, with a software authenticator written from the WebAuthn spec.

type Ctx = ReturnType<typeof testContext>;

async function keySignIn(ctx: Ctx, key: SoftAuthenticator, origin = RP.origin) {
  const c = await beginKeySignIn(ctx, { username: 'alice', password: PASSWORD }, RP, {});
  return signIn(
    ctx,
    {
      username: 'alice',
      password: PASSWORD,
      secondFactor: { method: 'key', code: answer(ctx, c.ceremonyId, key, origin) },
    },
    {},
  );
}

describe('registering a security key', () => {
  it('confirms the password every time, stores only the public key and counter, and issues recovery codes with the first key', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await expect(beginKeyRegistration(ctx, auth, 'blue', undefined, RP, {})).rejects.toBeInstanceOf(IdentityRequired);
    const { key, added } = await register(ctx, auth, 'blue');
    expect(added.key).toMatchObject({ name: 'blue', transports: ['usb'], backedUp: false, lastUsedAt: null });
    expect(added.recoveryCodes).toHaveLength(10);
    const row = ctx.db.prepare('SELECT * FROM security_keys').get() as Record<string, unknown>;
    expect(Object.keys(row).sort()).toEqual([
      'aaguid',
      'account_id',
      'backed_up',
      'counter',
      'created_at',
      'credential_id',
      'id',
      'last_used_at',
      'name',
      'public_key',
      'transports',
    ]);
    expect(row.credential_id).toBe(key.id);
    expect(Buffer.compare(row.public_key as Buffer, key.cosePublicKey())).toBe(0);
    expect(mfaOverview(ctx, auth.account).methods.find((m) => m.type === 'key')).toMatchObject({
      enabled: true,
      keys: 1,
    });
  });

  it('options carry the RP ID, the user verification policy and the keys already registered', async () => {
    const ctx = testContext();
    ctx.policy.keyUserVerification = 'required';
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    const proof = await beginKeyProof(ctx, auth, RP);
    const c = await beginKeyRegistration(
      ctx,
      auth,
      'green',
      { secondFactor: { method: 'key', code: answer(ctx, proof.ceremonyId, key) } },
      RP,
      {},
    );
    expect(c.url).toBe(`${RP.origin}/webauthn#${c.ceremonyId}`);
    const { publicKey } = ceremonyOptions(ctx, c.ceremonyId) as unknown as {
      publicKey: {
        rp: unknown;
        authenticatorSelection: { userVerification: string };
        excludeCredentials: { id: string }[];
        attestation: string;
      };
    };
    expect(publicKey.rp).toMatchObject({ id: 'localhost', name: 'acctsec' });
    expect(publicKey.authenticatorSelection.userVerification).toBe('required');
    expect(publicKey.excludeCredentials.map((x: { id: string }) => x.id)).toEqual([key.id]);
    expect(publicKey.attestation).toBe('none');
  });

  it('several keys per account; a second key gets no new recovery codes, and needs a method, not the password alone', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key: first } = await register(ctx, auth, 'blue');
    await expect(beginKeyRegistration(ctx, auth, 'green', { password: PASSWORD }, RP, {})).rejects.toBeInstanceOf(
      IdentityRequired,
    );
    const proof = await beginKeyProof(ctx, auth, RP);
    const { key: second, added } = await register(ctx, auth, 'green', new SoftAuthenticator(), {
      secondFactor: { method: 'key', code: answer(ctx, proof.ceremonyId, first) },
    });
    expect(added.recoveryCodes).toBeNull();
    expect(listKeys(ctx, auth.account).map((k) => k.name)).toEqual(['blue', 'green']);
    expect((await keySignIn(ctx, first)).status).toBe('signed-in');
    expect((await keySignIn(ctx, second)).status).toBe('signed-in');
  });

  it('refuses a duplicate name, a bad name, an attestation from another origin, and (when required) a key without user verification', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await expect(beginKeyRegistration(ctx, auth, '', { password: PASSWORD }, RP, {})).rejects.toBeInstanceOf(
      InvalidInput,
    );
    await expect(beginKeyRegistration(ctx, auth, 'a\u0007b', { password: PASSWORD }, RP, {})).rejects.toBeInstanceOf(
      InvalidInput,
    );
    const c = await beginKeyRegistration(ctx, auth, 'blue', { password: PASSWORD }, RP, {});
    const { publicKey } = ceremonyOptions(ctx, c.ceremonyId);
    submitCeremonyAnswer(ctx, c.ceremonyId, {
      response: new SoftAuthenticator().register(publicKey as unknown as CreationOptions, 'http://localhost:6666'),
    });
    await expect(finishKeyRegistration(ctx, auth, c.ceremonyId, {})).rejects.toThrow(/did not verify.*origin/i);
    expect(listKeys(ctx, auth.account)).toEqual([]);

    ctx.policy.keyUserVerification = 'required';
    const presenceOnly = new SoftAuthenticator();
    presenceOnly.userVerified = false;
    await expect(register(ctx, auth, 'blue', presenceOnly)).rejects.toThrow(/did not verify.*verif/i);
    await register(ctx, auth, 'blue');
    await expect(beginKeyRegistration(ctx, auth, 'blue', undefined, RP, {})).rejects.toBeInstanceOf(Conflict);
  });
});

describe('signing in with a key', () => {
  it('replaces the TOTP code, moves the counter forward and records the use', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    const needs = await signIn(ctx, { username: 'alice', password: PASSWORD }, {});
    expect(needs.status === 'second-factor-required' && needs.methods.map((m) => m.id)).toEqual(['key', 'recovery']);
    expect((await keySignIn(ctx, key)).status).toBe('signed-in');
    expect((await keySignIn(ctx, key)).status).toBe('signed-in');
    expect((ctx.db.prepare('SELECT counter FROM security_keys').get() as { counter: number }).counter).toBe(2);
    expect(listKeys(ctx, auth.account)[0]!.lastUsedAt).not.toBeNull();
  });

  it('a wrong password starts no ceremony', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await register(ctx, auth, 'blue');
    await expect(
      beginKeySignIn(ctx, { username: 'alice', password: 'wrong password!!' }, RP, {}),
    ).rejects.toBeInstanceOf(AuthFailed);
    expect(
      (ctx.db.prepare("SELECT count(*) AS n FROM key_ceremonies WHERE purpose = 'signin'").get() as { n: number }).n,
    ).toBe(0);
  });

  it('an answer counts once, even when two sign-ins present it at the same moment', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    const c = await beginKeySignIn(ctx, { username: 'alice', password: PASSWORD }, RP, {});
    const code = answer(ctx, c.ceremonyId, key);
    const both = await Promise.allSettled(
      [1, 2].map(() =>
        signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code } }, {}),
      ),
    );
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(AuthFailed);
    expect(String((refused.reason as Error).message)).toMatch(/already used/);
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code } }, {}),
    ).rejects.toThrow(/already used/);
  });

  it('refuses a cloned key (the counter goes back), an answer for another origin, and a tampered signature', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    await keySignIn(ctx, key);
    await keySignIn(ctx, key);
    key.counter = 0; // the clone has not seen the original's uses
    await expect(keySignIn(ctx, key)).rejects.toThrow(/cloned/);
    key.counter = 10;
    await expect(keySignIn(ctx, key, 'http://localhost:6666')).rejects.toThrow(/did not verify/);

    const c = await beginKeySignIn(ctx, { username: 'alice', password: PASSWORD }, RP, {});
    const { publicKey } = ceremonyOptions(ctx, c.ceremonyId);
    const response = key.assert(publicKey as unknown as RequestOptions, RP.origin);
    const sig = Buffer.from(response.response.signature, 'base64url');
    sig[sig.length - 1]! ^= 1;
    response.response.signature = sig.toString('base64url');
    submitCeremonyAnswer(ctx, c.ceremonyId, { response });
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code: c.ceremonyId } }, {}),
    ).rejects.toThrow(/did not verify/);
    expect((await keySignIn(ctx, key)).status).toBe('signed-in');
  });

  it('a ceremony lives five minutes and takes one answer; a browser error is reported, not verified', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    const c = await beginKeySignIn(ctx, { username: 'alice', password: PASSWORD }, RP, {});
    expect(ceremonyState(ctx, c.ceremonyId)).toEqual({ state: 'waiting' });
    expect(() => submitCeremonyAnswer(ctx, c.ceremonyId, { response: { id: 'x' } })).toThrow(InvalidInput);
    submitCeremonyAnswer(ctx, c.ceremonyId, {
      error: 'NotAllowedError: The operation either timed out or was not allowed.',
    });
    expect(ceremonyState(ctx, c.ceremonyId)).toMatchObject({
      state: 'failed',
      message: expect.stringContaining('NotAllowedError') as unknown,
    });
    expect(() =>
      submitCeremonyAnswer(ctx, c.ceremonyId, { response: key.assert({ challenge: 'x' }, RP.origin) }),
    ).toThrow(NotFound);
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code: c.ceremonyId } }, {}),
    ).rejects.toThrow(/browser reported/);

    const late = await beginKeySignIn(ctx, { username: 'alice', password: PASSWORD }, RP, {});
    ctx.clock.advance(CEREMONY_MS + 1);
    expect(ceremonyState(ctx, late.ceremonyId)).toEqual({ state: 'expired' });
    expect(() => ceremonyOptions(ctx, late.ceremonyId)).toThrow(NotFound);
    expect(() => ceremonyOptions(ctx, 'no-such-ceremony')).toThrow(NotFound);
  });

  it("another account's ceremony does not sign in this one", async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    const proof = await beginKeyProof(ctx, auth, RP);
    answer(ctx, proof.ceremonyId, key);
    // A registration ceremony's id is not an assertion.
    const reg = await beginKeyRegistration(
      ctx,
      auth,
      'green',
      { secondFactor: { method: 'key', code: proof.ceremonyId } },
      RP,
      {},
    );
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'key', code: reg.ceremonyId } }, {}),
    ).rejects.toThrow(/no such security key sign-in/);
  });
});

describe('recovery with a key, rename, remove', () => {
  it('recovers with the key; every username gets the same options, naming no credential, and an unknown name never verifies', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    const { key: second } = await register(ctx, auth, 'green', new SoftAuthenticator(), {
      secondFactor: { method: 'key', code: answer(ctx, (await beginKeyProof(ctx, auth, RP)).ceremonyId, key) },
    });
    insertAccount(ctx.db, {
      username: 'bob',
      email: 'bob@example.com',
      role: 'user',
      passwordHash: 'x',
      now: ctx.now(),
    });
    // issue #15: what anyone may ask for a username, without the password, is the same for a user with
    // two keys, a keyless one and an unknown name: everything but the random challenge.
    const opts = async (name: string) => {
      const c = await beginKeyRecovery(ctx, name, RP);
      const { challenge, ...rest } = ceremonyOptions(ctx, c.ceremonyId).publicKey;
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      return {
        ceremony: { ...c, ceremonyId: c.ceremonyId.length, url: c.url.replace(c.ceremonyId, 'ID') },
        options: rest,
      };
    };
    const alice = await opts('alice');
    expect(JSON.stringify(alice)).not.toContain(key.id);
    expect(JSON.stringify(alice)).not.toContain(second.id);
    expect(alice.options.allowCredentials ?? []).toEqual([]);
    for (const name of ['bob', 'nobody', 'Alice2']) expect(await opts(name)).toEqual(alice);

    const unknown = await beginKeyRecovery(ctx, 'nobody', RP);
    await expect(
      recoverWithCode(
        ctx,
        { username: 'nobody', code: unknown.ceremonyId, newPassword: 'a brand new passphrase', method: 'key' },
        {},
      ),
    ).rejects.toBeInstanceOf(AuthFailed);

    const c = await beginKeyRecovery(ctx, 'alice', RP);
    const result = await recoverWithCode(
      ctx,
      { username: 'alice', code: answer(ctx, c.ceremonyId, key), newPassword: 'a brand new passphrase', method: 'key' },
      {},
    );
    expect(result.username).toBe('alice');
    // The audit log names the route (the registry builds it from the key's kind: a renamed label must
    // not change what earlier log readers match on).
    const logged = ctx.db.prepare("SELECT detail FROM activity WHERE event = 'password.recovered'").get() as {
      detail: string;
    };
    expect(JSON.parse(logged.detail)).toMatchObject({ via: 'security-key' });
    // A sign-in ceremony does not recover, and a recovery ceremony is used up.
    await expect(
      recoverWithCode(
        ctx,
        { username: 'alice', code: c.ceremonyId, newPassword: 'another new passphrase', method: 'key' },
        {},
      ),
    ).rejects.toThrow(new AuthFailed('the security key did not confirm this account', 'wrong_code'));
    // A factor that cannot recover a password is no recovery method.
    await expect(
      recoverWithCode(ctx, { username: 'alice', code: '123456', newPassword: 'a new passphrase', method: 'totp' }, {}),
    ).rejects.toThrow('invalid recovery method "totp": use email, key or qr');
  });

  it('renames; removes a key with an assertion; the last one needs a yes and takes the recovery codes along', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key: blue } = await register(ctx, auth, 'blue');
    const proof1 = await beginKeyProof(ctx, auth, RP);
    const { key: green } = await register(ctx, auth, 'green', new SoftAuthenticator(), {
      secondFactor: { method: 'key', code: answer(ctx, proof1.ceremonyId, blue) },
    });
    expect(renameKey(ctx, auth, 'green', 'spare', {}).name).toBe('spare');
    expect(() => renameKey(ctx, auth, 'spare', 'blue', {})).toThrow(Conflict);
    expect(() => renameKey(ctx, auth, 'nope', 'x', {})).toThrow(NotFound);

    await expect(removeKey(ctx, auth, 'blue', false, undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    await expect(removeKey(ctx, auth, 'blue', false, { password: PASSWORD }, {})).rejects.toBeInstanceOf(
      IdentityRequired,
    );
    const p2 = await beginKeyProof(ctx, auth, RP);
    expect(
      await removeKey(
        ctx,
        auth,
        'blue',
        false,
        { secondFactor: { method: 'key', code: answer(ctx, p2.ceremonyId, green) } },
        {},
      ),
    ).toEqual({ removed: 'blue', remainingMethods: ['key'] });
    await expect(keySignIn(ctx, blue)).rejects.toThrow(/not registered/);

    const p3 = await beginKeyProof(ctx, auth, RP);
    const code = answer(ctx, p3.ceremonyId, green);
    await expect(removeKey(ctx, auth, 'spare', false, { secondFactor: { method: 'key', code } }, {})).rejects.toThrow(
      /--yes/,
    );
    expect(await removeKey(ctx, auth, 'spare', true, { secondFactor: { method: 'key', code } }, {})).toEqual({
      removed: 'spare',
      remainingMethods: [],
    });
    expect(recoveryCodesLeft(ctx, auth.account)).toBeNull();
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
  });

  it('a key-only account views and renews its recovery codes with a key assertion, not an app code', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key, added } = await register(ctx, auth, 'blue');
    await expect(viewRecoveryCodes(ctx, auth, '123456', {})).rejects.toBeInstanceOf(InvalidInput);
    const p1 = await beginKeyProof(ctx, auth, RP);
    expect((await viewRecoveryCodes(ctx, auth, answer(ctx, p1.ceremonyId, key), {}, 'key')).codes).toEqual(
      added.recoveryCodes,
    );
    const p2 = await beginKeyProof(ctx, auth, RP);
    const renewed = await regenerateRecoveryCodes(ctx, auth, answer(ctx, p2.ceremonyId, key), {}, 'key');
    expect(renewed.codes.filter((c) => added.recoveryCodes!.includes(c))).toEqual([]);
    // A used proof does not open them again.
    await expect(viewRecoveryCodes(ctx, auth, p2.ceremonyId, {}, 'key')).rejects.toThrow(/already used/);
  });

  it("a key can also be removed with another method's code (the app); it is then not the last method", async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await register(ctx, auth, 'blue');
    // With a key active, the app is enrolled with a key assertion (a code of an active method).
    const p = await beginKeyProof(ctx, auth, RP);
    const enrolment = await beginTotpEnrollment(
      ctx,
      auth,
      { secondFactor: { method: 'key', code: answer(ctx, p.ceremonyId, key) } },
      {},
    );
    const code = () => hotp(base32Decode(enrolment.secret), Math.floor(ctx.now() / 30_000));
    await confirmTotpEnrollment(ctx, auth, code(), {});
    ctx.clock.advance(60_000); // the confirmation used its time step
    await expect(
      removeKey(
        ctx,
        auth,
        'blue',
        false,
        { secondFactor: { method: 'totp', code: String((Number(code()) + 500_000) % 1_000_000).padStart(6, '0') } },
        {},
      ),
    ).rejects.toBeInstanceOf(AuthFailed);
    expect(await removeKey(ctx, auth, 'blue', false, { secondFactor: { method: 'totp', code: code() } }, {})).toEqual({
      removed: 'blue',
      remainingMethods: ['totp'],
    });
    expect(listKeys(ctx, auth.account)).toEqual([]);
    expect(recoveryCodesLeft(ctx, auth.account)).toBe(10);
  });

  it('support staff resetting MFA removes the keys too', async () => {
    const ctx = testContext();
    const { auth: admin } = await withAlice(ctx);
    const created = await createUser(
      ctx,
      admin,
      { username: 'uma', email: 'uma@example.com', reason: 'new hire', printToken: true },
      {},
    );
    await recoverWithResetToken(ctx, { username: 'uma', token: created.resetToken!, newPassword: PASSWORD }, {});
    const signedIn = await signIn(ctx, { username: 'uma', password: PASSWORD }, {});
    const uma = authenticate(ctx, signedIn.status === 'signed-in' ? signedIn.session.token : '');
    await register(ctx, uma, 'blue');
    expect(listKeys(ctx, uma.account)).toHaveLength(1);
    await resetMfa(ctx, admin, 'uma', { reason: 'lost the key, ticket 42' }, {});
    expect(listKeys(ctx, uma.account)).toEqual([]);
    expect(mfaOverview(ctx, uma.account).methods.find((m) => m.type === 'key')?.enabled).toBe(false);
  });
});
