import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthFailed, Forbidden } from '../../src/errors.js';
import type { ServiceContext } from '../../src/service/context.js';
import { createUser, recoverWithResetToken } from '../../src/service/admin.js';
import { addIp } from '../../src/service/ip-allow-list.js';
import { adminSetAppDisabled, createApp, deleteApp } from '../../src/service/oauth-apps.js';
import { revokeAuthorizedApp } from '../../src/service/oauth-grants.js';
import { createOAuthStorage } from '../../src/service/oauth-storage.js';
import { authenticate } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { createToken, introspectFor, introspectionBatch, verifyToken } from '../../src/service/tokens.js';
import { openStore } from '../../src/store/db.js';
import { CLI_CLIENT_ID } from '../../src/oauth-types.js';
import { MINUTE, PASSWORD, testContext, withAlice } from './context.js';

// Issue #21: an access token the OAuth provider issued to an application (acsoa_) is introspectable
// at the standard endpoint (RFC 7662, verifyToken), active only while its row, its application and
// its account are, and only from inside the account's IP list; never answered from the change
// counter's cache, so a revocation is seen by the next check.

const INACTIVE = { active: false };
/** A token as the provider makes one: our prefix and a 43-character nanoid. */
const appToken = () => 'acsoa_' + randomBytes(32).toString('base64url');
const generation = (ctx: ServiceContext) =>
  (ctx.db.prepare('SELECT n FROM change_generation').get() as { n: number }).n;

async function world(ctx: ReturnType<typeof testContext> = testContext()) {
  const { auth } = await withAlice(ctx);
  const storage = createOAuthStorage(() => ctx);
  const app = await createApp(
    ctx,
    auth,
    { name: 'Photo printer', redirectUris: ['https://printer.example/cb'] },
    undefined,
    {},
  );
  const sub = String(auth.account.id);
  const iat = Math.floor(ctx.now() / 1000);
  let grants = 0;
  /** What the provider stores for an authorization: the grant, its access token and refresh token. */
  const authorize = (scope = 'openid profile email') => {
    const grantId = `grant${++grants}`;
    const access = appToken();
    const refresh = appToken();
    const common = { accountId: sub, clientId: app.clientId, grantId, iat };
    storage.upsert('Grant', grantId, { jti: grantId, accountId: sub, clientId: app.clientId, iat }, 3600);
    storage.upsert('AccessToken', access, { ...common, jti: access, kind: 'AccessToken', scope, exp: iat + 600 }, 600);
    storage.upsert('RefreshToken', refresh, { ...common, jti: refresh, kind: 'RefreshToken', scope }, 3600);
    return { access, refresh, grantId };
  };
  /** An application's own token (client credentials grant): no account. */
  const clientCredentials = (scope = 'reports') => {
    const token = appToken();
    storage.upsert(
      'ClientCredentials',
      token,
      { jti: token, kind: 'ClientCredentials', clientId: app.clientId, scope, iat, exp: iat + 600 },
      600,
    );
    return token;
  };
  return { ctx, auth, storage, app, sub, iat, authorize, clientCredentials };
}

describe("introspection of an application's access token (RFC 7662)", () => {
  it('an access token is active with the RFC 7662 members, client_id, and ours', async () => {
    const { ctx, app, sub, iat, authorize } = await world();
    const { access } = authorize('openid email');
    const answer = verifyToken(ctx, access);
    expect(answer).toEqual({
      active: true,
      scope: 'openid email',
      client_id: app.clientId,
      exp: iat + 600,
      iat,
      sub,
      username: 'alice',
      token_type: 'Bearer',
      account: 'alice',
      scopes: ['openid', 'email'],
      resources: [],
      expiresAt: new Date((iat + 600) * 1000).toISOString(),
      deprecated: false,
    });
    // Surrounding blanks are ignored, as for personal access tokens.
    expect(verifyToken(ctx, ` ${access}\n`)).toMatchObject({ active: true, client_id: app.clientId });
  });

  it("a personal access token's answer is unchanged: no client_id", async () => {
    const { ctx, auth } = await world();
    const pat = await createToken(
      ctx,
      auth,
      { name: 'ci', scopes: ['account:read'], resources: [], expires: '30d' },
      undefined,
      {},
    );
    const answer = verifyToken(ctx, pat.token);
    expect(answer).toMatchObject({ active: true, account: 'alice', scope: 'account:read' });
    expect(answer).not.toHaveProperty('client_id');
  });

  it("a client-credentials token (the application's own) is active with client_id and scope, no sub nor username", async () => {
    const { ctx, app, iat, clientCredentials } = await world();
    const answer = verifyToken(ctx, clientCredentials('reports:read'));
    expect(answer).toEqual({
      active: true,
      scope: 'reports:read',
      client_id: app.clientId,
      exp: iat + 600,
      iat,
      token_type: 'Bearer',
      scopes: ['reports:read'],
      resources: [],
      expiresAt: new Date((iat + 600) * 1000).toISOString(),
      deprecated: false,
    });
  });

  it('exactly {active:false}, as for an unknown token: expired, refresh token, code, device login token, unknown, malformed', async () => {
    const { ctx, storage, sub, authorize, clientCredentials } = await world();
    const { refresh } = authorize();
    const code = 'x'.repeat(43);
    storage.upsert('AuthorizationCode', code, { jti: code, accountId: sub, clientId: 'app_x', grantId: 'g' }, 60);
    // The CLI's device login token is traded for a session once; it is for nothing else.
    const device = appToken();
    storage.upsert(
      'AccessToken',
      device,
      { jti: device, accountId: sub, clientId: CLI_CLIENT_ID, scope: 'openid' },
      600,
    );
    const cases: Array<[string, string]> = [
      ['a refresh token', refresh],
      ['an authorization code', code],
      ['an authorization code with our prefix', `acsoa_${code}`],
      ["the CLI's device login token", device],
      ['an unknown token', appToken()],
      ['the prefix alone', 'acsoa_'],
      ['a malformed one', 'acsoa_not a token!'],
      ['a long one', `acsoa_${'a'.repeat(500)}`],
    ];
    for (const [what, token] of cases) expect(verifyToken(ctx, token), what).toEqual(INACTIVE);

    const { access } = authorize();
    const own = clientCredentials();
    ctx.clock.advance(10 * MINUTE - 1);
    expect(verifyToken(ctx, access).active).toBe(true);
    expect(verifyToken(ctx, own).active).toBe(true);
    ctx.clock.advance(1);
    expect(verifyToken(ctx, access), 'expired').toEqual(INACTIVE);
    expect(verifyToken(ctx, own), 'expired').toEqual(INACTIVE);
  });

  it('inactive for a locked account or one that is gone; active again once unlocked', async () => {
    const { ctx, authorize } = await world();
    const { access } = authorize();
    expect(verifyToken(ctx, access).active).toBe(true);
    ctx.db.prepare('UPDATE accounts SET locked_at = ?').run(ctx.now());
    expect(verifyToken(ctx, access)).toEqual(INACTIVE);
    ctx.db.prepare('UPDATE accounts SET locked_at = NULL').run();
    expect(verifyToken(ctx, access).active).toBe(true);
    ctx.db.prepare('UPDATE oauth_payloads SET account_id = 9999 WHERE account_id IS NOT NULL').run();
    expect(verifyToken(ctx, access)).toEqual(INACTIVE);
  });

  it("respects the account's IP list: outside inactive, inside active; an app's own token has no list", async () => {
    const { ctx, auth, authorize, clientCredentials } = await world();
    const { access } = authorize();
    const own = clientCredentials();
    expect(verifyToken(ctx, access, '1.1.1.1').active).toBe(true);
    await addIp(ctx, auth, [{ text: '8.8.8.0/24' }], { allowPrivate: false, force: true }, undefined, {});
    expect(verifyToken(ctx, access, '1.1.1.1')).toEqual(INACTIVE);
    expect(verifyToken(ctx, access, '8.8.8.9')).toMatchObject({ active: true, username: 'alice' });
    expect(verifyToken(ctx, access, '::ffff:8.8.8.9').active).toBe(true);
    // Without an address (the resource server did not say), the list cannot be judged: as for PATs.
    expect(verifyToken(ctx, access).active).toBe(true);
    expect(verifyToken(ctx, own, '1.1.1.1').active).toBe(true);
  });

  it('the same answer object while the row is the same (unsealed once); a rename is seen at once', async () => {
    const { ctx, authorize } = await world();
    const { access } = authorize();
    const first = verifyToken(ctx, access);
    expect(Object.isFrozen(first)).toBe(true);
    expect(verifyToken(ctx, access)).toBe(first);
    ctx.db.prepare("UPDATE accounts SET username = 'alice.ops'").run();
    expect(verifyToken(ctx, access)).toMatchObject({ username: 'alice.ops', account: 'alice.ops' });
  });
});

describe("an application's token revoked is inactive at the very next check (no cached answer)", () => {
  /** Checked inside one introspection batch: the change counter is read once, and does not move. */
  const inOneBatch = (ctx: ServiceContext, fn: () => void) => {
    const before = generation(ctx);
    introspectionBatch(ctx, fn);
    expect(generation(ctx)).toBe(before);
  };

  it('apps revoke (the person ends the authorization)', async () => {
    const { ctx, auth, authorize } = await world();
    const { access } = authorize();
    inOneBatch(ctx, () => {
      expect(verifyToken(ctx, access).active).toBe(true);
      revokeAuthorizedApp(ctx, auth, 'Photo printer', {});
      expect(verifyToken(ctx, access)).toEqual(INACTIVE);
    });
  });

  it('a grant ended by the provider (a rotated refresh token presented again)', async () => {
    const { ctx, storage, authorize } = await world();
    const { access, grantId } = authorize();
    const other = authorize();
    inOneBatch(ctx, () => {
      expect(verifyToken(ctx, access).active).toBe(true);
      storage.revokeByGrantId(grantId);
      expect(verifyToken(ctx, access)).toEqual(INACTIVE);
      expect(verifyToken(ctx, other.access).active).toBe(true);
      // The provider's revocation endpoint destroys the one token.
      storage.destroy('AccessToken', other.access);
      expect(verifyToken(ctx, other.access)).toEqual(INACTIVE);
    });
  });

  it('the app deleted by its owner, or disabled by an admin, whatever the order of checks', async () => {
    const { ctx, auth, app, authorize, clientCredentials } = await world();
    const { access } = authorize();
    const own = clientCredentials();
    expect(verifyToken(ctx, access).active).toBe(true);
    expect(verifyToken(ctx, own).active).toBe(true);
    await adminSetAppDisabled(ctx, auth, app.clientId, true, { reason: 'phishing report 812' }, {});
    expect(verifyToken(ctx, access)).toEqual(INACTIVE);
    expect(verifyToken(ctx, own)).toEqual(INACTIVE);
    await adminSetAppDisabled(ctx, auth, app.clientId, false, { reason: 'cleared' }, {});
    const again = authorize();
    expect(verifyToken(ctx, again.access).active).toBe(true);
    await deleteApp(ctx, auth, app.clientId, { password: PASSWORD }, {});
    expect(verifyToken(ctx, again.access)).toEqual(INACTIVE);
  });

  it('the app disabled behind the tokens (its rows left in place) still makes them inactive', async () => {
    const { ctx, app, authorize } = await world();
    const { access } = authorize();
    expect(verifyToken(ctx, access).active).toBe(true);
    ctx.db.prepare('UPDATE oauth_apps SET disabled_at = 1 WHERE client_id = ?').run(app.clientId);
    expect(verifyToken(ctx, access)).toEqual(INACTIVE);
    ctx.db.prepare('UPDATE oauth_apps SET disabled_at = NULL, deleted_at = 1 WHERE client_id = ?').run(app.clientId);
    expect(verifyToken(ctx, access)).toEqual(INACTIVE);
  });

  it("another process's revocation is seen by the next check", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acctsec-oauth-introspect-'));
    const ctx = { ...testContext(), db: openStore(join(dir, 'acctsec.db'), { create: true }) };
    const other = openStore(join(dir, 'acctsec.db'), { create: false });
    try {
      const { authorize } = await world(ctx);
      const { access } = authorize();
      expect(verifyToken(ctx, access).active).toBe(true);
      other.prepare('DELETE FROM oauth_payloads').run();
      expect(verifyToken(ctx, access)).toEqual(INACTIVE);
    } finally {
      other.close();
      ctx.db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a resource server asking about an application token', () => {
  async function callers() {
    const w = await world();
    const make = (name: string, scopes: string[]) =>
      createToken(w.ctx, w.auth, { name, scopes, resources: [], expires: '30d' }, undefined, {});
    return {
      ...w,
      rs: (await make('rs', ['tokens:introspect'])).token,
      plain: (await make('plain', ['account:read'])).token,
    };
  }

  it('needs its own token with tokens:introspect; an application token is no caller credential', async () => {
    const { ctx, rs, plain, app, authorize } = await callers();
    const { access } = authorize();
    expect(introspectFor(ctx, { token: rs }, access, '1.1.1.1')).toMatchObject({
      active: true,
      client_id: app.clientId,
    });
    expect(() => introspectFor(ctx, { token: plain }, access)).toThrow(Forbidden);
    expect(() => introspectFor(ctx, { token: access }, access)).toThrow(AuthFailed);
  });

  it("an application's tokens are answered active to its owner only; to another account's resource server they are unknown", async () => {
    const { ctx, auth, rs, app, authorize, clientCredentials } = await callers();
    const { access } = authorize();
    const own = clientCredentials();
    const bob = await createUser(
      ctx,
      auth,
      { username: 'bob', email: 'bob@example.com', role: 'user', printToken: true, reason: 'ticket 1' },
      {},
    );
    await recoverWithResetToken(
      ctx,
      { username: 'bob', token: bob.resetToken!, newPassword: 'a plain member passphrase' },
      {},
    );
    const signedIn = await signIn(ctx, { username: 'bob', password: 'a plain member passphrase' }, {});
    if (signedIn.status !== 'signed-in') throw new Error(signedIn.status);
    const bobAuth = authenticate(ctx, signedIn.session.token);
    const bobRs = (
      await createToken(
        ctx,
        bobAuth,
        { name: 'bob-rs', scopes: ['tokens:introspect'], resources: [], expires: '30d' },
        undefined,
        {},
      )
    ).token;
    for (const token of [access, own]) {
      expect(introspectFor(ctx, { token: rs }, token)).toMatchObject({ active: true, client_id: app.clientId });
      expect(introspectFor(ctx, { token: bobRs }, token)).toEqual(INACTIVE);
      // Asked with a session (the CLI's `token verify` over HTTP): the same rule.
      expect(verifyToken(ctx, token, undefined, undefined, bobAuth.account.id)).toEqual(INACTIVE);
      expect(verifyToken(ctx, token, undefined, undefined, auth.account.id).active).toBe(true);
    }
  });
});

describe('userinfo and the IP list (OAuthStorage.account with the address the token is used from)', () => {
  it('nothing for a locked account or an address outside the list; the claims otherwise', async () => {
    const { ctx, auth, storage, sub } = await world();
    expect(storage.account(sub, '1.1.1.1')).toMatchObject({ username: 'alice' });
    await addIp(ctx, auth, [{ text: '8.8.8.0/24' }], { allowPrivate: false, force: true }, undefined, {});
    expect(storage.account(sub, '1.1.1.1')).toBeUndefined();
    expect(storage.account(sub, '8.8.8.9')).toMatchObject({ username: 'alice' });
    // Without an address (the ID token at sign-in, which the sign-in page judged already): the claims.
    expect(storage.account(sub)).toMatchObject({ username: 'alice' });
    ctx.db.prepare('UPDATE accounts SET locked_at = 1').run();
    expect(storage.account(sub, '8.8.8.9')).toBeUndefined();
  });
});
