import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import * as client from 'openid-client';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { Home, json, PASSWORD } from '../e2e/helpers.js';
import { Jar, REDIRECT, signInAndAllow, startOAuthServe } from './oauth-helpers.js';

// Issue #21: "Access tokens issued to apps are introspectable through the standard endpoint from the
// server-boundary work (RFC 7662) and respect the user's IP list." A resource server asks
// POST /v1/tokens/introspect about an acsoa_ token an application got from `acctsec serve`'s OAuth
// provider, with openid-client (panva) as the application and as the resource server. The person's
// browser is played with fetch and a cookie jar: the sign-in and consent pages are plain forms.

const BOB_PASSWORD = 'a calendar passphrase of his own';
const INACTIVE = '{"active":false}';

type Tokens = Awaited<ReturnType<typeof client.authorizationCodeGrant>>;

describe("an application's access token at POST /v1/tokens/introspect (RFC 7662)", () => {
  const home = new Home(false);
  let server: ResultPromise | undefined;
  let db = '';
  /** The public URL (the issuer's host) and the address the CLI and the resource server use. */
  let api = '';
  let issuer = '';
  let rsToken = '';
  let plainToken = '';
  let resourceServer: client.Configuration;

  beforeAll(async () => {
    // Behind a "proxy" on loopback: a request's X-Forwarded-For is the address the server settles on,
    // so a test can come from inside or outside an IP list.
    ({ server, issuer } = await startOAuthServe(home, { args: ['--trust-proxy', '127.0.0.1/32'] }));
    api = home.env.ACCTSEC_REMOTE!;
    db = join(home.dir, 'server.db');
    rsToken = await pat('rs', 'tokens:introspect');
    plainToken = await pat('plain', 'account:read');
    // The resource server: its own token in Authorization: Bearer (RFC 7662 §2.1 leaves the means open).
    resourceServer = new client.Configuration(
      { issuer: api, introspection_endpoint: `${api}/v1/tokens/introspect` },
      'resource-server',
      undefined,
      (_as, _client, _body, headers) => headers.set('authorization', `Bearer ${rsToken}`),
    );
    client.allowInsecureRequests(resourceServer);
  }, 90_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await server;
    await home.remove();
  });

  async function pat(name: string, scope: string): Promise<string> {
    const r = await home.run(['token', 'create', '--name', name, '--scope', scope, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return json<{ token: string }>(r).token;
  }

  async function cli(args: string[]): Promise<string> {
    const r = await home.run(args, { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  async function register(name: string): Promise<{ clientId: string; config: client.Configuration }> {
    const app = json<{ clientId: string; clientSecret: string }>({
      stdout: await cli(['apps', 'create', '--name', name, '--redirect-uri', REDIRECT, '--json']),
      stderr: '',
      exitCode: 0,
    });
    const config = await client.discovery(new URL(issuer), app.clientId, app.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    return { clientId: app.clientId, config };
  }

  /**
   * The person signs in (password) and allows the application on the provider's pages; the
   * application trades the code for tokens. Returns them and the callback URL (its code is spent).
   */
  async function authorize(
    config: client.Configuration,
    who: { username: string; password: string; jar: Jar },
  ): Promise<{ tokens: Tokens; callback: URL }> {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile offline_access',
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const done = await signInAndAllow(who.jar, await who.jar.follow(url.href), who);
    if (!done.away?.startsWith(REDIRECT)) throw new Error(`not sent back to the app (HTTP ${done.res.status})`);
    const callback = new URL(done.away);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { tokens, callback };
  }

  const alice = { username: 'alice', password: PASSWORD, jar: new Jar() };

  /** Form-encoded introspection as a resource server sends it; the answer's status and raw text. */
  async function introspect(
    token: string,
    extra: Record<string, string> = {},
    caller: string | null = rsToken,
  ): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
    const r = await request(`${api}/v1/tokens/introspect`, {
      method: 'POST',
      body: new URLSearchParams({ token, ...extra }).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(caller === null ? {} : { authorization: `Bearer ${caller}` }),
      },
    });
    const text = await r.body.text();
    return { status: r.statusCode, text, body: JSON.parse(text) as Record<string, unknown> };
  }
  const active = async (token: string, extra?: Record<string, string>) => (await introspect(token, extra)).body.active;

  let printer: { clientId: string; config: client.Configuration };
  let first: { tokens: Tokens; callback: URL };

  it("an access token from the authorization code flow is active, with client_id, the person's sub and username, scope, exp, iat", async () => {
    printer = await register('Photo printer');
    first = await authorize(printer.config, alice);
    const { tokens } = first;
    expect(tokens.access_token).toMatch(/^acsoa_/);
    const r = await client.tokenIntrospection(resourceServer, tokens.access_token);
    expect(r).toMatchObject({
      active: true,
      client_id: printer.clientId,
      sub: tokens.claims()!.sub,
      username: 'alice',
      scope: 'openid profile offline_access',
      token_type: 'Bearer',
      account: 'alice',
      scopes: ['openid', 'profile', 'offline_access'],
      deprecated: false,
    });
    expect(r.exp! - r.iat!).toBe(600);
    expect(Math.abs(r.iat! - Date.now() / 1000)).toBeLessThan(60);
    // What the provider itself tells the application about its own token agrees.
    const own = await client.tokenIntrospection(printer.config, tokens.access_token);
    expect(own).toMatchObject({ active: true, client_id: r.client_id, sub: r.sub, scope: r.scope, exp: r.exp });
    // The personal access token's answer has no client_id.
    expect((await introspect(plainToken)).body).not.toHaveProperty('client_id');
    // `acctsec token verify` (remote, the profile's session as the caller) says whose and which app's.
    const verify = await home.run(['token', 'verify'], { input: `${tokens.access_token}\n` });
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`active: alice through application ${printer.clientId}, scopes openid, profile`);
  }, 60_000);

  it('a refresh token, an authorization code, an unknown or expired token answer exactly {"active":false}', async () => {
    const unknown = await introspect('acsoa_' + 'A'.repeat(43));
    expect(unknown).toMatchObject({ status: 200, text: INACTIVE });
    expect((await introspect(first.tokens.refresh_token!)).text).toBe(INACTIVE);
    expect((await introspect(first.callback.searchParams.get('code')!)).text).toBe(INACTIVE);
    // Expired: the row's expiry moved into the past by another process (the server reads it afresh).
    const { tokens } = await authorize(printer.config, alice);
    expect(await active(tokens.access_token)).toBe(true);
    const store = openStore(db, { create: false, migrate: false });
    try {
      const idHash = createHash('sha256').update(tokens.access_token).digest();
      const moved = store
        .prepare("UPDATE oauth_payloads SET expires_at = ? WHERE model = 'AccessToken' AND id_hash = ?")
        .run(Date.now() - 1, idHash);
      expect(moved.changes).toBe(1);
    } finally {
      store.close();
    }
    expect((await introspect(tokens.access_token)).text).toBe(INACTIVE);
  }, 60_000);

  it("a client-credentials token (the application's own) is active with client_id and scope, no sub nor username", async () => {
    const job = await register('Nightly job');
    const t = await client.clientCredentialsGrant(job.config, {});
    const { body } = await introspect(t.access_token, { ip: '192.0.2.1' });
    expect(body).toMatchObject({ active: true, client_id: job.clientId, token_type: 'Bearer' });
    expect(typeof body.scope).toBe('string');
    expect(body).not.toHaveProperty('sub');
    expect(body).not.toHaveProperty('username');
    const verify = await home.run(['token', 'verify'], { input: `${t.access_token}\n` });
    expect(verify.stdout).toContain(`active: application ${job.clientId}, scopes`);
    // The provider's revocation endpoint ends it: inactive at the next request.
    await client.tokenRevocation(job.config, t.access_token);
    expect((await introspect(t.access_token)).text).toBe(INACTIVE);
  }, 60_000);

  it("the account's IP list: from outside inactive, from inside active; userinfo too", async () => {
    const { tokens } = await authorize(printer.config, alice);
    const sub = tokens.claims()!.sub;
    await cli(['ip', 'add', '8.8.8.0/24', '127.0.0.0/8', '--allow-private', '--force']);
    expect((await introspect(tokens.access_token, { ip: '1.1.1.1' })).text).toBe(INACTIVE);
    expect(await active(tokens.access_token, { ip: '8.8.8.9' })).toBe(true);
    expect(await active(tokens.access_token, { ip: '127.0.0.1' })).toBe(true);
    // Userinfo judges the address the server settled on (here the trusted proxy's X-Forwarded-For).
    const userinfo = (from: string) =>
      fetch(`${issuer}/me`, {
        headers: { authorization: `Bearer ${tokens.access_token}`, 'x-forwarded-for': from },
      });
    const outside = await userinfo('1.1.1.1');
    expect(outside.status).toBe(401);
    expect(outside.headers.get('www-authenticate')).toContain('invalid_token');
    const inside = await userinfo('8.8.8.9');
    expect(inside.status).toBe(200);
    expect(await inside.json()).toMatchObject({ sub, preferred_username: 'alice' });
    await cli(['ip', 'clear', '--yes']);
    expect(await active(tokens.access_token, { ip: '1.1.1.1' })).toBe(true);
    expect((await userinfo('1.1.1.1')).status).toBe(200);
  }, 60_000);

  it('apps revoke, a reused refresh token, admin apps disable and apps delete: inactive at the next request', async () => {
    let { tokens } = await authorize(printer.config, alice);
    expect(await active(tokens.access_token)).toBe(true);
    await cli(['apps', 'revoke', 'Photo printer']);
    expect((await introspect(tokens.access_token)).text).toBe(INACTIVE);

    // A rotated refresh token presented again is taken as stolen: the grant ends, its access tokens too.
    ({ tokens } = await authorize(printer.config, alice));
    const refreshed = await client.refreshTokenGrant(printer.config, tokens.refresh_token!);
    expect(await active(refreshed.access_token)).toBe(true);
    await expect(client.refreshTokenGrant(printer.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await introspect(refreshed.access_token)).text).toBe(INACTIVE);

    ({ tokens } = await authorize(printer.config, alice));
    expect(await active(tokens.access_token)).toBe(true);
    await cli(['admin', 'apps', 'disable', printer.clientId, '--reason', 'phishing report 812', '--yes']);
    expect((await introspect(tokens.access_token)).text).toBe(INACTIVE);
    await cli(['admin', 'apps', 'enable', printer.clientId, '--reason', 'cleared', '--yes']);

    ({ tokens } = await authorize(printer.config, alice));
    expect(await active(tokens.access_token)).toBe(true);
    await cli(['apps', 'delete', printer.clientId, '--yes']);
    expect((await introspect(tokens.access_token)).text).toBe(INACTIVE);
  }, 90_000);

  it("a locked account's access tokens are inactive at the next request, and stay so after the unlock (the lock ended them)", async () => {
    const made = await cli([
      'admin',
      'users',
      'create',
      'bob',
      '--email',
      'bob@example.com',
      '--print-token',
      '--reason',
      'new hire',
      '--yes',
      '--json',
    ]);
    const { resetToken } = JSON.parse(made) as { resetToken: string };
    const claim = await home.run(['recover', '--username', 'bob', '--token', resetToken], {
      env: { ACCTSEC_NEW_PASSWORD: BOB_PASSWORD },
    });
    expect(claim.exitCode, claim.stderr).toBe(0);
    const app = await register('Calendar');
    const bob = { username: 'bob', password: BOB_PASSWORD, jar: new Jar() };
    const { tokens } = await authorize(app.config, bob);
    expect((await introspect(tokens.access_token)).body).toMatchObject({ active: true, username: 'bob' });
    await cli(['admin', 'lock', 'bob', '--reason', 'stolen laptop', '--yes']);
    expect((await introspect(tokens.access_token)).text).toBe(INACTIVE);
    await cli(['admin', 'unlock', 'bob', '--reason', 'laptop found', '--yes']);
    expect(await active(tokens.access_token)).toBe(false);
    // Bob allows the app again: a new token is active.
    const again = await authorize(app.config, { ...bob, jar: new Jar() });
    expect(await active(again.tokens.access_token)).toBe(true);
  }, 90_000);

  it("the resource server still needs its own token with tokens:introspect; an application's token is none", async () => {
    const app = await register('Checker');
    const t = await client.clientCredentialsGrant(app.config, {});
    expect(await active(t.access_token)).toBe(true);
    const none = await introspect(t.access_token, {}, null);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { code: 'caller_required' } });
    const noScope = await introspect(t.access_token, {}, plainToken);
    expect(noScope.status).toBe(403);
    expect(noScope.body).toMatchObject({ error: { code: 'missing_scope' } });
    // An application's token is not a credential of the acctsec API, introspection's included.
    const appCaller = await introspect(t.access_token, {}, t.access_token);
    expect(appCaller.status).toBe(401);
    expect(appCaller.text).not.toContain('"active"');
  }, 60_000);
});
