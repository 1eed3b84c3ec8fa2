import { execa, type ResultPromise } from 'execa';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, HAVE_CHROMIUM } from '../e2e/browser.js';
import { BIN, Home, json, PASSWORD } from '../e2e/helpers.js';
import { REDIRECT, startOAuthServe } from './oauth-helpers.js';
import { awayFromStepEdge, codeAt } from '../rfc6238.js';

// Issue #21: `acctsec serve --public-url` is an OAuth 2.0 / OpenID Connect provider. Checked with
// clients nobody here wrote: openid-client (panva) for discovery, the authorization code flow with
// PKCE, refresh, client credentials, introspection and revocation; Debian's Chromium (playwright-core)
// as the person's browser, signing in with the password and a TOTP code computed independently
// (test/rfc6238.ts).

describe.skipIf(!HAVE_CHROMIUM && !process.env.CI)('acctsec as an OAuth 2.0 / OpenID Connect provider', () => {
  const home = new Home(false);
  let server: ResultPromise | undefined;
  let base = '';
  let issuer = '';
  let totpSecret = '';

  beforeAll(async () => {
    ({ server, base, issuer } = await startOAuthServe(home));
    await awayFromStepEdge(2500);
    const begin = await home.run(['mfa', 'totp', 'enable', '--no-input', '--json'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(begin.exitCode, begin.stderr).toBe(0);
    totpSecret = json<{ secret: string }>(begin).secret;
    const confirm = await home.run(['mfa', 'totp', 'confirm', '--code', codeAt(totpSecret, -1), '--json']);
    expect(confirm.exitCode, confirm.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    await server;
    await home.remove();
  });

  async function register(name: string, extra: string[] = []): Promise<{ clientId: string; clientSecret?: string }> {
    const r = await home.run(['apps', 'create', '--name', name, '--redirect-uri', REDIRECT, ...extra, '--json'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    return json<{ clientId: string; clientSecret?: string }>(r);
  }

  const discover = (clientId: string, secret?: string) =>
    client.discovery(new URL(issuer), clientId, secret, secret ? undefined : client.None(), {
      execute: [client.allowInsecureRequests],
    });

  let browser: Browser | undefined;
  let page: Page | undefined;
  let callback: string | undefined;
  async function browserPage(): Promise<Page> {
    if (!page) {
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
      page = await browser.newPage();
      await page.route(`${REDIRECT}**`, (route) => {
        callback = route.request().url();
        return route.fulfill({ body: 'back at the app' });
      });
    }
    return page;
  }

  /** On the sign-in page when it shows (the provider's own session spares it): password, then TOTP. */
  let lastStep = -1;
  async function signInIfAsked(p: Page): Promise<void> {
    if ((await p.title()) !== 'Sign in with acctsec') return;
    await p.fill('input[name=username]', 'alice');
    await p.fill('input[name=password]', PASSWORD);
    await p.click('button[type=submit]');
    // The account has an authenticator app: the page asks for a code, with the password again.
    await p.waitForSelector('input[name=code]');
    await p.fill('input[name=password]', PASSWORD);
    await p.selectOption('select[name=method]', 'totp');
    await awayFromStepEdge(1500);
    // A code is good once (SPEC §2): a second sign-in in the same 30 s step waits for the next one.
    while (Math.floor(Date.now() / 30_000) === lastStep) {
      await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 200));
      await awayFromStepEdge(1500);
    }
    lastStep = Math.floor(Date.now() / 30_000);
    await p.fill('input[name=code]', codeAt(totpSecret, 0));
    await p.click('button[type=submit]');
  }

  /**
   * The person's browser (one, kept): signs in when asked, allows the app; returns the callback URL.
   */
  async function authorize(url: URL): Promise<{ callback: URL; consentText: string }> {
    const p = await browserPage();
    callback = undefined;
    await p.goto(url.href);
    await signInIfAsked(p);
    await p.waitForSelector('text=asks to use your account');
    const consentText = (await p.textContent('main')) ?? '';
    await p.click('button:has-text("Allow")');
    await p.waitForURL(`${REDIRECT}**`);
    return { callback: new URL(callback!), consentText };
  }

  it('publishes its metadata and only public signing keys', async () => {
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      issuer,
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(jwks.keys[0]).not.toHaveProperty(part);
  });

  it('authorization code with PKCE through a real browser (password + TOTP), refresh with rotation, revocation by deleting the app', async () => {
    const app = await register('Photo printer');
    expect(app.clientId).toMatch(/^app_/);
    const config = await discover(app.clientId, app.clientSecret);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email offline_access',
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const { callback, consentText } = await authorize(url);
    expect(consentText).toContain('Photo printer');
    expect(consentText).toContain('registered by alice');
    expect(consentText).toContain('127.0.0.1:9');
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.access_token).toMatch(/^acsoa_/);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: issuer, aud: app.clientId });
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ preferred_username: 'alice', email: 'alice@example.com' });

    // The code is single-use: a replay is refused (and the grant's tokens with it).
    await expect(
      client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });

    // Refresh rotates: the new refresh token works, the old one no longer does.
    // A second authorization in the same browser: the provider's session spares the sign-in.
    const again = await client.authorizationCodeGrant(config, (await authorize(url)).callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const refreshed = await client.refreshTokenGrant(config, again.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(again.refresh_token);
    expect(await client.tokenIntrospection(config, refreshed.access_token)).toMatchObject({
      active: true,
      client_id: app.clientId,
      sub: claims.sub,
    });
    // A rotated-out refresh token presented again is taken as stolen: refused, and the whole grant
    // ends with it (the new refresh and access tokens too).
    await expect(client.refreshTokenGrant(config, again.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect(await client.tokenIntrospection(config, refreshed.access_token)).toEqual({ active: false });
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });

    // `apps authorized` lists the app; `apps revoke` ends its access; a new authorization brings it back.
    const third = await client.authorizationCodeGrant(config, (await authorize(url)).callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const listed = await home.run(['apps', 'authorized', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(json<{ clientId: string; scopes: string[] }[]>(listed)).toEqual([
      expect.objectContaining({ clientId: app.clientId, scopes: ['email', 'offline_access', 'openid', 'profile'] }),
    ]);
    const revoked = await home.run(['apps', 'revoke', 'Photo printer']);
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    expect(await client.tokenIntrospection(config, third.access_token)).toEqual({ active: false });
    await expect(client.refreshTokenGrant(config, third.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const refreshedAgain = await client.authorizationCodeGrant(config, (await authorize(url)).callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });

    // The person was told about the new application.
    const mail = await home.run(['activity', '--json']);
    expect(mail.stdout).toContain('oauth.authorized');

    // Deleting the app ends every token issued to it at once.
    const del = await home.run(['apps', 'delete', app.clientId, '--yes'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(del.exitCode, del.stderr).toBe(0);
    await expect(client.refreshTokenGrant(config, refreshedAgain.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_client',
    });
  }, 120_000);

  it('client credentials for a confidential app: introspection, revocation, a wrong secret refused', async () => {
    const app = await register('Nightly job');
    const config = await discover(app.clientId, app.clientSecret);
    const t = await client.clientCredentialsGrant(config, {});
    expect(t.access_token).toMatch(/^acsoa_/);
    expect(await client.tokenIntrospection(config, t.access_token)).toMatchObject({ active: true });
    await client.tokenRevocation(config, t.access_token);
    expect(await client.tokenIntrospection(config, t.access_token)).toEqual({ active: false });
    const wrong = await discover(app.clientId, 'acsapp_wrong');
    await expect(client.clientCredentialsGrant(wrong, {})).rejects.toMatchObject({ error: 'invalid_client' });
    const pub = await register('Desktop app', ['--public']);
    expect(pub.clientSecret).toBeUndefined();
    // A public client has no credentials to present: oidc-provider refuses the grant for it.
    await expect(client.clientCredentialsGrant(await discover(pub.clientId), {})).rejects.toMatchObject({
      error: 'invalid_request',
    });
  });

  it('bad requests get the standard error, never a 500, and never a redirect to an unregistered place', async () => {
    const app = await register('Strict app');
    const authorize = (params: Record<string, string>) =>
      fetch(`${issuer}/auth?${new URLSearchParams(params).toString()}`, { redirect: 'manual' });
    const good = {
      client_id: app.clientId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    };
    const unknown = await authorize({ ...good, client_id: 'app_nope' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('invalid_client');
    const elsewhere = await authorize({ ...good, redirect_uri: 'https://evil.example/cb' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('location')).toBeNull();
    expect(await elsewhere.text()).toContain('invalid_redirect_uri');
    const { code_challenge: _c, code_challenge_method: _m, ...noPkce } = good;
    const withoutPkce = await authorize(noPkce);
    expect(withoutPkce.status).toBe(303);
    const to = new URL(withoutPkce.headers.get('location')!);
    expect(to.origin + to.pathname).toBe(REDIRECT);
    expect(to.searchParams.get('error')).toBe('invalid_request');
    // The sign-in page refuses a form that comes without the interaction's cookie (another site's page).
    const started = await authorize(good);
    expect(started.status).toBe(303);
    const page = new URL(started.headers.get('location')!, base);
    const forged = await fetch(`${page.href}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=x',
      redirect: 'manual',
    });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('This sign-in has expired');
    const token = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'nope', client_id: app.clientId }),
    });
    expect(token.status).toBe(401);
    expect(await token.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('acctsec login --device: the code shown in the terminal, signed in and allowed in a browser, makes a session', async () => {
    const terminal = new Home(false);
    try {
      terminal.env.ACCTSEC_REMOTE = home.env.ACCTSEC_REMOTE!;
      const cli = execa('node', [BIN, 'login', '--device', '--json'], {
        env: terminal.env,
        extendEnv: false,
        reject: false,
      });
      let err = '';
      const shown = await new Promise<{ url: string; code: string }>((resolve, reject) => {
        cli.stderr?.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /open (\S+) in any browser and check that it shows the code (\S+)\./.exec(err);
          if (m) resolve({ url: m[1]!, code: m[2]! });
        });
        void cli.then(() => reject(new Error(`login --device ended: ${err}`)));
      });
      expect(shown.url).toBe(`${issuer}/device?user_code=${shown.code}`);
      expect(shown.code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      const p = await browserPage();
      await p.goto(shown.url);
      expect(await p.title()).toBe('Confirm the device');
      const confirmText = (await p.textContent('main')) ?? '';
      expect(confirmText).toContain(shown.code);
      // Where the request came from, and a warning for someone who was sent the code.
      expect(confirmText).toContain('127.0.0.1');
      expect(confirmText).toContain('If someone sent you this code or link, stop');
      await p.click('button:has-text("Continue")');
      // This browser signed in and allowed apps in the tests before; a device login asks again anyway.
      await p.waitForLoadState();
      expect(await p.title()).toBe('Sign in with acctsec');
      await signInIfAsked(p);
      await p.waitForSelector('text=A terminal asks for a session of your account');
      await p.click('button:has-text("Allow")');
      await p.waitForSelector('text=go back to your terminal');
      const done = await cli;
      expect(done.exitCode, done.stderr).toBe(0);
      expect(JSON.parse(String(done.stdout))).toMatchObject({ username: 'alice' });
      const status = await terminal.run(['status', '--json']);
      expect(status.exitCode, status.stderr).toBe(0);
      expect(json(status)).toMatchObject({ username: 'alice' });
      // The access token was good for one session: traded again, it is refused.
      const again = await fetch(`${base}/oauth2/acctsec/session`, {
        method: 'POST',
        headers: { authorization: 'Bearer acsoa_made_up' },
      });
      expect(again.status).toBe(401);
      // Without a server, --device says what it needs.
      const bare = new Home(false);
      const local = await bare.run(['login', '--device']);
      await bare.remove();
      expect(local.exitCode).toBe(2);
      expect(local.stderr).toContain('--remote');
    } finally {
      await terminal.remove();
    }
  }, 120_000);

  it('the sign-in page applies the account rules: a wrong password is refused there, the app learns nothing', async () => {
    const app = await register('Curious app');
    const config = await discover(app.clientId, app.clientSecret);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    await browserPage();
    const context = await browser!.newContext();
    try {
      const p = await context.newPage();
      let redirected = false;
      await p.route(`${REDIRECT}**`, (route) => {
        redirected = true;
        return route.fulfill({ body: 'x' });
      });
      await p.goto(url.href);
      await p.fill('input[name=username]', 'alice');
      await p.fill('input[name=password]', 'not the password at all');
      const [answer] = await Promise.all([
        p.waitForResponse((r) => r.url().endsWith('/login')),
        p.click('button[type=submit]'),
      ]);
      expect(answer.status()).toBe(401);
      expect(await p.title()).toBe('Sign in with acctsec');
      expect(await p.textContent('[role=alert]')).toMatch(/wrong username or password/i);
      // Unknown names get the same answer (no account enumeration through the page).
      await p.fill('input[name=username]', 'nobody-here');
      await p.fill('input[name=password]', 'not the password at all');
      await p.click('button[type=submit]');
      expect(await p.textContent('[role=alert]')).toMatch(/wrong username or password/i);
      expect(redirected).toBe(false);
      // The page carries no script and cannot be framed.
      expect(answer.headers()['content-security-policy']).toContain("default-src 'none'");
      expect(answer.headers()['x-frame-options']).toBe('DENY');
    } finally {
      await context.close();
    }
  });
});
