import type { ResultPromise } from 'execa';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD } from '../e2e/helpers.js';
import {
  authorizeUrl,
  confirmPage,
  deviceTokenRequest,
  hiddenFields,
  Jar,
  REDIRECT,
  signInAndAllow,
  startOAuthServe,
  title,
} from './oauth-helpers.js';

// Issue #21, after the outside review of the OAuth provider: what someone with only a browser tab on
// another site, a user code they send to a victim, a forged X-Forwarded-* header or a botnet's worth
// of addresses can do. The person's browser is played by fetch with a cookie jar (the pages run no
// script: a form post is all a browser does there); the server runs behind a "proxy" (--trust-proxy
// 127.0.0.1), so X-Forwarded-For names the address each request is judged by.

describe('the OAuth provider against an outsider', () => {
  const home = new Home(false);
  let server: ResultPromise | undefined;
  let base = '';
  let issuer = '';

  beforeAll(async () => {
    ({ server, base, issuer } = await startOAuthServe(home, { args: ['--trust-proxy', '127.0.0.1/32'] }));
  }, 90_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await server;
    await home.remove();
  });

  async function register(name: string): Promise<string> {
    const r = await home.run(['apps', 'create', '--name', name, '--redirect-uri', REDIRECT, '--public', '--json'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    return json<{ clientId: string }>(r).clientId;
  }

  async function codeFlow(jar: Jar, clientId: string) {
    const { url, verifier } = authorizeUrl(issuer, clientId, { prompt: 'consent' });
    const done = await signInAndAllow(jar, await jar.follow(url.href));
    expect(done.away).toMatch(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
    const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const tokens = await client.authorizationCodeGrant(config, new URL(done.away!), {
      pkceCodeVerifier: verifier,
      expectedState: 'st',
    });
    return { config, tokens };
  }

  it('X-Forwarded-Host and -Proto steer nothing, even from a trusted proxy; the device page shows the real address', async () => {
    const res = await fetch(`${issuer}/device/auth`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'host=evil.example;proto=https',
        'x-forwarded-for': '203.0.113.9',
        'user-agent': `curl/8 ${'x'.repeat(500)}`,
      },
      body: 'client_id=acctsec-cli&scope=openid',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { verification_uri: string; verification_uri_complete: string };
    expect(body.verification_uri).toBe(`${issuer}/device`);
    expect(body.verification_uri_complete.startsWith(`${issuer}/device?user_code=`)).toBe(true);
    const html = await confirmPage(new Jar(base), body.verification_uri_complete);
    expect(html).toContain('<strong>203.0.113.9</strong>');
    // The user agent is shown, bounded (the stored device code keeps at most 200 characters of it).
    expect(html).toContain('curl/8 x');
    expect(html).not.toContain('x'.repeat(250));
  });

  it('a device login always asks to sign in and to allow; its session is judged by the IP list at the device', async () => {
    const jar = new Jar(base);
    // The browser signs in and allows an app first: the provider now has a session for it.
    await codeFlow(jar, await register('Warm-up app'));
    const cidr = await home.run(['ip', 'add', '127.0.0.1', '203.0.113.0/24', '--allow-private', '--json'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(cidr.exitCode, cidr.stderr).toBe(0);

    async function deviceToken(): Promise<string> {
      const started = await fetch(`${issuer}/device/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'client_id=acctsec-cli&scope=openid',
      });
      const d = (await started.json()) as { device_code: string; verification_uri_complete: string };
      const form = hiddenFields(await confirmPage(jar, d.verification_uri_complete));
      const next = await jar.post(`${issuer}/device`, form);
      // Asked to sign in although this browser is signed in.
      expect(await title(next.res.clone())).toBe('Sign in with acctsec');
      const done = await signInAndAllow(jar, next);
      expect(await done.res.text()).toContain('go back to your terminal');
      const token = await deviceTokenRequest(issuer, d.device_code);
      expect(token.status).toBe(200);
      return ((await token.json()) as { access_token: string }).access_token;
    }

    const trade = (token: string, from: string) =>
      fetch(`${issuer}/acctsec/session`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': from },
      });
    try {
      // Traded from outside the list: refused, and the token is spent.
      const outside = await deviceToken();
      expect((await trade(outside, '198.51.100.7')).status).toBe(401);
      expect((await trade(outside, '203.0.113.5')).status).toBe(401);
      const activity = await home.run(['activity', '--json']);
      expect(activity.stdout).toContain('signin.refused');
      // From inside the list: a session.
      const inside = await deviceToken();
      const ok = await trade(inside, '203.0.113.5');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ token: expect.stringMatching(/^acs_ses_/) as string });
    } finally {
      const cleared = await home.run(['ip', 'clear', '--yes', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
      expect(cleared.exitCode, cleared.stderr).toBe(0);
    }
  }, 60_000);

  it("signing out everywhere ends the apps' tokens too: the refresh token and userinfo stop working", async () => {
    const { config, tokens } = await codeFlow(new Jar(base), await register('Kept app'));
    expect(tokens.refresh_token).toMatch(/^acsoa_/);
    expect((await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck)).sub).toBeTruthy();
    const out = await home.run(['sessions', 'revoke', '--others', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(out.exitCode, out.stderr).toBe(0);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck)).rejects.toBeDefined();
  }, 60_000);

  it('a sign-in finished on the page but not yet resumed ends with the account sessions too', async () => {
    const jar = new Jar(base);
    const start = await jar.follow(authorizeUrl(issuer, await register('Patient app'), { prompt: 'consent' }).url.href);
    expect(await title(start.res)).toBe('Sign in with acctsec');
    // The right password, and the browser stops before following the provider's redirect.
    const signedIn = await jar.fetch(`${start.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ username: 'alice', password: PASSWORD }).toString(),
    });
    expect(signedIn.status).toBe(303);
    const resume = signedIn.headers.get('location')!;
    const out = await home.run(['sessions', 'revoke', '--others', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(out.exitCode, out.stderr).toBe(0);
    const after = await jar.follow(resume);
    expect(after.away).toBeUndefined();
    const page = await after.res.text();
    expect(page).not.toContain('asks to use your account');
    expect(after.res.status).toBeGreaterThanOrEqual(400);
  }, 60_000);

  it('a form posted from a page of another site is refused before anything is checked', async () => {
    const jar = new Jar(base, '198.51.100.40');
    const { url } = authorizeUrl(issuer, await register('Framed app'), { prompt: 'consent' });
    const start = await jar.follow(url.href);
    expect(await title(start.res)).toBe('Sign in with acctsec');
    for (const headers of [
      { origin: 'https://evil.example' } as Record<string, string>,
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ]) {
      const r = await jar.post(`${start.url}/login`, { username: 'alice', password: PASSWORD }, headers);
      expect(r.res.status).toBe(403);
      expect(await r.res.text()).toContain('sent from another site');
    }
    // The same form from the page itself goes through (Chromium sends Origin: null under no-referrer).
    const r = await jar.post(`${start.url}/login`, { username: 'alice', password: PASSWORD }, { origin: 'null' });
    expect(await r.res.text()).toContain('asks to use your account');
  });

  it("failed sign-ins on the page count against the address like the API's; other addresses are not affected", async () => {
    const clientId = await register('Sprayed app');
    const jar = new Jar(base, '198.51.100.50');
    const start = await jar.follow(authorizeUrl(issuer, clientId, { prompt: 'consent' }).url.href);
    // Password spraying: a different name each time, so no account's own throttle fills.
    for (let i = 0; i < 30; i++) {
      const r = await jar.fetch(`${start.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: `user${i}`, password: 'guess' }).toString(),
      });
      expect(r.status).toBe(401);
      await r.arrayBuffer();
    }
    const refused = await jar.fetch(`${start.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=' + encodeURIComponent(PASSWORD),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The API refuses that address too: one window for both doors.
    const api = await fetch(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.50' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    expect(api.status).toBe(429);
    // Someone else signs in.
    const other = new Jar(base, '198.51.100.51');
    const mine = await other.follow(authorizeUrl(issuer, clientId, { prompt: 'consent' }).url.href);
    const ok = await other.post(`${mine.url}/login`, { username: 'alice', password: PASSWORD });
    expect(await ok.res.text()).toContain('asks to use your account');
  }, 60_000);

  it('anonymous requests that make the provider store something are budgeted per address', async () => {
    const clientId = await register('Flooded app');
    const ask = (from: string) =>
      fetch(authorizeUrl(issuer, clientId, { prompt: 'consent' }).url, {
        headers: { 'x-forwarded-for': from },
        redirect: 'manual',
      });
    let status = 0;
    let n = 0;
    for (; n < 100; n++) {
      const r = await ask('198.51.100.60');
      status = r.status;
      await r.arrayBuffer();
      if (status !== 303) break;
    }
    expect(status).toBe(429);
    expect(n).toBe(60);
    const device = await fetch(`${issuer}/device/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.60' },
      body: 'client_id=acctsec-cli',
    });
    expect(device.status).toBe(429);
    // The provider's router takes other spellings of the same paths, and HEAD for GET: all budgeted.
    for (const [method, path] of [
      ['GET', '/oauth2/auth/'],
      ['GET', '/oauth2/AUTH'],
      ['HEAD', '/oauth2/auth'],
      ['POST', '/oauth2/device/auth/'],
      ['POST', '/oauth2/Device/Auth'],
      ['GET', '/oauth2/device'],
      ['GET', '/oauth2/device/'],
    ] as const) {
      const r = await fetch(
        `${base}${path}${method === 'POST' ? '' : authorizeUrl(issuer, clientId, { prompt: 'consent' }).url.search}`,
        {
          method,
          headers: { 'x-forwarded-for': '198.51.100.60', 'content-type': 'application/x-www-form-urlencoded' },
          ...(method === 'POST' ? { body: 'client_id=acctsec-cli' } : {}),
          redirect: 'manual',
        },
      );
      expect(r.status, `${method} ${path}`).toBe(429);
      await r.arrayBuffer();
    }
    // RP-initiated logout (which stores a session for a day for anyone who asks) is not offered.
    const logout = await fetch(`${issuer}/session/end`, { headers: { 'x-forwarded-for': '198.51.100.63' } });
    expect(logout.status).toBe(404);
    // Pushed authorization requests (another way to store a request) are not offered.
    const par = await fetch(`${issuer}/request`, { method: 'POST', headers: { 'x-forwarded-for': '198.51.100.61' } });
    expect(par.status).toBe(404);
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.pushed_authorization_request_endpoint).toBeUndefined();
    expect((await ask('198.51.100.62')).status).toBe(303);
  });
});
