import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, DEFAULT_FROM } from '../../src/mail/mailer.js';
import { accountActivity } from '../../src/service/activity.js';
import { describe, expect, it } from 'vitest';
import { createUser, lockUser, recoverWithResetToken } from '../../src/service/admin.js';
import { openOAuthPayload } from '../../src/service/oauth-payload.js';
import { addSigningKey, createOAuthStorage } from '../../src/service/oauth-storage.js';
import { authenticate, revokeOthers } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { findAccountByUsername } from '../../src/store/accounts.js';
import { findOAuthPayload } from '../../src/store/oauth-payloads.js';
import { insertOAuthApp, setOAuthAppDisabled, deleteOAuthApp, findOAuthApp } from '../../src/store/oauth-apps.js';
import { MINUTE, testContext, withAlice } from './context.js';

// Issue #21: the store under oidc-provider (its adapter contract) keeps no usable token, seals every
// payload, lets a code be consumed once, and hands the provider only live applications.

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

async function setUp() {
  const ctx = testContext();
  const { auth } = await withAlice(ctx);
  const storage = createOAuthStorage(() => ctx);
  return { ctx, auth, storage };
}

describe('OAuth storage (the provider adapter over our store)', () => {
  it('keeps a token only as its hash, the payload sealed; finds it by the token', async () => {
    const { ctx, storage } = await setUp();
    const token = 'acsoa_' + 'x'.repeat(43);
    storage.upsert('AccessToken', token, { jti: token, accountId: '1', clientId: 'app_a', grantId: 'g1' }, 600);
    expect(storage.find('AccessToken', token)).toMatchObject({ jti: token, clientId: 'app_a' });
    expect(storage.find('RefreshToken', token)).toBeUndefined();
    const dump = JSON.stringify(
      ctx.db.prepare('SELECT model, hex(id_hash) AS h, hex(payload) AS p, client_id FROM oauth_payloads').all(),
    );
    expect(dump).not.toContain(Buffer.from(token).toString('hex').toUpperCase());
    expect(dump).not.toContain(token);
    expect(dump).toContain(sha256(token).toString('hex').toUpperCase());
    // Not even inside the sealed payload: unsealed with the database key, it has no id.
    const row = findOAuthPayload(ctx.db, 'AccessToken', sha256(token), ctx.now())!;
    expect(openOAuthPayload(ctx, row)).toEqual({ accountId: '1', clientId: 'app_a', grantId: 'g1' });
    // The payload cannot be moved to another row: it is bound to its model and id.
    ctx.db.prepare("UPDATE oauth_payloads SET model = 'RefreshToken'").run();
    expect(() => storage.find('RefreshToken', token)).toThrow();
  });

  it('expires rows at their time, whatever the pruning', async () => {
    const { ctx, storage } = await setUp();
    storage.upsert('AuthorizationCode', 'code1', { jti: 'code1', grantId: 'g' }, 60);
    expect(storage.find('AuthorizationCode', 'code1')).toBeDefined();
    ctx.clock.advance(MINUTE + 1);
    expect(storage.find('AuthorizationCode', 'code1')).toBeUndefined();
  });

  it('a code is consumed once: the second use (a race) is refused, and the payload says when', async () => {
    const { storage } = await setUp();
    storage.upsert('AuthorizationCode', 'code2', { jti: 'code2', grantId: 'g' }, 60);
    const uses = await Promise.all([0, 1, 2, 3].map(async () => storage.consume('AuthorizationCode', 'code2')));
    expect(uses.filter(Boolean)).toHaveLength(1);
    expect(storage.find('AuthorizationCode', 'code2')).toMatchObject({ consumed: expect.any(Number) as number });
  });

  it('revoking a grant removes its codes and tokens; user codes and uids are found', async () => {
    const { storage } = await setUp();
    storage.upsert('AccessToken', 'acsoa_1', { grantId: 'g9' }, 600);
    storage.upsert('RefreshToken', 'acsoa_2', { grantId: 'g9' }, 600);
    storage.upsert('AccessToken', 'acsoa_3', { grantId: 'other' }, 600);
    storage.revokeByGrantId('g9');
    expect(storage.find('AccessToken', 'acsoa_1')).toBeUndefined();
    expect(storage.find('RefreshToken', 'acsoa_2')).toBeUndefined();
    expect(storage.find('AccessToken', 'acsoa_3')).toBeDefined();
    storage.upsert('DeviceCode', 'dc1', { userCode: 'ABCD-EFGH' }, 600);
    expect(storage.findByUserCode('DeviceCode', 'ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
    storage.upsert('Session', 's1', { uid: 'u1' }, 600);
    expect(storage.findByUid('Session', 'u1')).toMatchObject({ uid: 'u1' });
    storage.destroy('Session', 's1');
    expect(storage.findByUid('Session', 'u1')).toBeUndefined();
  });

  it('hands the provider only live applications, with the hash of the secret, never a secret', async () => {
    const { ctx, auth, storage } = await setUp();
    const id = insertOAuthApp(ctx.db, {
      client_id: 'app_live',
      owner_account_id: auth.account.id,
      name: 'Live',
      redirect_uris: JSON.stringify(['https://app.example/cb']),
      public: 0,
      secret_hash: sha256('acsapp_s'),
      created_at: ctx.now(),
    });
    expect(storage.client('app_live')).toEqual({
      clientId: 'app_live',
      name: 'Live',
      owner: 'alice',
      redirectUris: ['https://app.example/cb'],
      public: false,
      secretHash: sha256('acsapp_s').toString('hex'),
    });
    expect(storage.client('app_unknown')).toBeUndefined();
    setOAuthAppDisabled(ctx.db, id, { at: ctx.now(), by: 'alice', reason: 'abuse' });
    expect(storage.client('app_live')).toBeUndefined();
    setOAuthAppDisabled(ctx.db, id, null);
    expect(storage.client('app_live')).toBeDefined();
    deleteOAuthApp(ctx.db, id, ctx.now());
    expect(storage.client('app_live')).toBeUndefined();
    expect(findOAuthApp(ctx.db, 'app_live')?.secret_hash).toBeNull();
  });

  it('makes one signing key on first use, sealed; a rotation publishes the new and the previous key only', async () => {
    const { ctx, storage } = await setUp();
    const first = storage.signingKeys();
    expect(first.keys).toHaveLength(1);
    expect(first.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', d: expect.any(String) as string });
    expect(storage.signingKeys().keys[0]!.kid).toBe(first.keys[0]!.kid);
    const stored = ctx.db.prepare('SELECT hex(jwk) AS j FROM oauth_keys').get() as { j: string };
    expect(Buffer.from(stored.j, 'hex').toString('latin1')).not.toContain(first.keys[0]!.d!);
    ctx.clock.advance(MINUTE);
    const second = ctx.db.transaction(() => addSigningKey(ctx))();
    ctx.clock.advance(MINUTE);
    const third = ctx.db.transaction(() => addSigningKey(ctx))();
    const now = storage.signingKeys();
    expect(now.keys.map((k) => k.kid)).toEqual([third, second]);
    expect(now.version).not.toBe(first.version);
    expect(storage.keysVersion()).toBe(now.version);
    const retired = ctx.db.prepare('SELECT kid FROM oauth_keys WHERE retired_at IS NOT NULL').all();
    expect(retired).toEqual([{ kid: first.keys[0]!.kid }]);
  });

  it('names an account for the ID token by its number only', async () => {
    const { auth, storage } = await setUp();
    expect(storage.account(String(auth.account.id))).toMatchObject({ username: 'alice', email: 'alice@example.com' });
    expect(storage.account('alice')).toBeUndefined();
    expect(storage.account('999')).toBeUndefined();
  });

  it('a lock, a password reset or a sign-out everywhere ends what the provider holds for the account', async () => {
    const { ctx, auth, storage } = await setUp();
    const made = await createUser(
      ctx,
      auth,
      { username: 'bob', email: 'bob@example.com', role: 'user', printToken: true, reason: 'ticket 1' },
      {},
    );
    const bobId = String(findAccountByUsername(ctx.db, 'bob')!.id);
    const rows = (sub: string) => {
      storage.upsert('Grant', `grant-${sub}`, { accountId: sub, clientId: 'app_a' }, 600);
      storage.upsert('Session', `session-${sub}`, { accountId: sub, uid: `u-${sub}` }, 600);
      storage.upsert(
        'AccessToken',
        `acsoa_a${sub}`,
        { accountId: sub, clientId: 'app_a', grantId: `grant-${sub}` },
        600,
      );
      storage.upsert(
        'RefreshToken',
        `acsoa_r${sub}`,
        { accountId: sub, clientId: 'app_a', grantId: `grant-${sub}` },
        600,
      );
    };
    const left = (sub: string) =>
      (
        ctx.db.prepare('SELECT count(*) AS n FROM oauth_payloads WHERE account_id = ?').get(Number(sub)) as {
          n: number;
        }
      ).n;
    const aliceId = String(auth.account.id);
    expect(bobId).toMatch(/^\d+$/);

    // Sign out everywhere (alice's own `sessions revoke --others`): her app tokens go, bob's stay.
    rows(aliceId);
    rows(bobId);
    revokeOthers(ctx, auth);
    expect(left(aliceId)).toBe(0);
    expect(storage.find('RefreshToken', `acsoa_r${aliceId}`)).toBeUndefined();
    expect(left(bobId)).toBe(4);

    // A password reset with a reset token (the way back after a takeover).
    await recoverWithResetToken(
      ctx,
      { username: 'bob', token: made.resetToken!, newPassword: 'a plain member passphrase' },
      {},
    );
    expect(left(bobId)).toBe(0);

    // A lock: and a locked account is nobody to the provider (no userinfo, no ID token).
    rows(bobId);
    await lockUser(ctx, auth, 'bob', true, { reason: 'ticket 7' }, {});
    expect(left(bobId)).toBe(0);
    expect(storage.account(bobId)).toBeUndefined();
    await lockUser(ctx, auth, 'bob', false, { reason: 'ticket 7' }, {});
    expect(storage.account(bobId)).toMatchObject({ username: 'bob' });
    const r = await signIn(ctx, { username: 'bob', password: 'a plain member passphrase' }, {});
    expect(r.status).toBe('signed-in');
    expect(authenticate(ctx, r.status === 'signed-in' ? r.session.token : '').account.username).toBe('bob');
  });

  it('the first authorization of an application is logged and announced by mail; a later one only logged', async () => {
    const outbox = join(tmpdir(), `acctsec-oauth-notice-${process.pid}-${Date.now()}`);
    const ctx = testContext({ mailer: createMailer({ from: DEFAULT_FROM, outboxDir: outbox }) });
    try {
      const { auth } = await withAlice(ctx);
      const storage = createOAuthStorage(() => ctx);
      insertOAuthApp(ctx.db, {
        client_id: 'app_notice',
        owner_account_id: auth.account.id,
        name: 'Photo printer',
        redirect_uris: JSON.stringify(['https://printer.example/cb']),
        public: 1,
        secret_hash: null,
        created_at: ctx.now(),
      });
      await ctx.background.settled();
      mkdirSync(outbox, { recursive: true });
      const before = readdirSync(outbox).length;
      storage.authorized(String(auth.account.id), 'app_notice', ['openid', 'email'], true, '203.0.113.8');
      await ctx.background.settled();
      const mails = readdirSync(outbox);
      expect(mails).toHaveLength(before + 1);
      // Quoted-printable: soft line breaks undone.
      const text = mails.map((f) => readFileSync(join(outbox, f), 'utf8').replace(/=\r?\n/g, '')).join('\n');
      expect(text).toContain(
        'The application "Photo printer" (client app_notice) was authorized (scopes: openid email) on your account',
      );
      expect(text).toContain('from 203.0.113.8');
      storage.authorized(String(auth.account.id), 'app_notice', ['profile'], false, '203.0.113.8');
      await ctx.background.settled();
      expect(readdirSync(outbox)).toHaveLength(before + 1);
      const events = accountActivity(ctx, auth.account.id, 100).filter((e) => e.event === 'oauth.authorized');
      expect(events).toHaveLength(2);
    } finally {
      rmSync(outbox, { recursive: true, force: true });
    }
  });
});
