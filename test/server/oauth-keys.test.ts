import { createHash, generateKeyPairSync } from 'node:crypto';
import type { ResultPromise } from 'execa';
import * as client from 'openid-client';
import type { BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingKeySignIns } from '../../src/server/oauth-pages.js';
import { HAVE_CHROMIUM, KeyBrowser, VIRTUAL_KEY } from '../e2e/browser.js';
import { Home, json, PASSWORD } from '../e2e/helpers.js';
import { Jar, REDIRECT, startOAuthServe } from './oauth-helpers.js';

// Issue #21: the OAuth sign-in page offers the account's security key, through the same WebAuthn
// ceremony as `acctsec login --method key`. An account whose only second factor is a key (added
// with the CLI against the server, as a person would) signs in to an application in Debian's
// Chromium with a CDP virtual authenticator; openid-client (panva) is the application. A wrong key,
// or no answer at all, is a failed second factor, counted by the same throttle as a wrong code.

const PAGE_URL = /open (http:\/\/localhost:\d+\/webauthn#([A-Za-z0-9_-]+))/;

interface Activity {
  event: string;
  detail?: Record<string, unknown>;
}

describe.skipIf(!HAVE_CHROMIUM && !process.env.CI)('security keys on the OAuth sign-in page', () => {
  const home = new Home(false);
  let server: ResultPromise | undefined;
  let base = '';
  let issuer = '';
  let keys: KeyBrowser;
  let app: { clientId: string; clientSecret?: string };
  let config: client.Configuration;

  beforeAll(async () => {
    ({ server, base, issuer } = await startOAuthServe(home));

    // The key, added as the CLI adds one: the server's own ceremony page, in the browser.
    keys = await KeyBrowser.launch();
    const add = await home.start(['mfa', 'key', 'add', '--name', 'yubikey', '--no-open', '--json'], PAGE_URL, {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(await keys.complete((await add.match)[1]!)).toBe('ok');
    const added = await add.done;
    expect(added.exitCode, added.stderr).toBe(0);
    const status = json<{ methods: { type: string; enabled: boolean }[] }>(await home.run(['mfa', 'status', '--json']));
    expect(status.methods.filter((m) => m.enabled && m.type !== 'recovery').map((m) => m.type)).toEqual(['key']);

    const created = await home.run(
      ['apps', 'create', '--name', 'Photo printer', '--redirect-uri', REDIRECT, '--json'],
      { env: { ACCTSEC_PASSWORD: PASSWORD } },
    );
    expect(created.exitCode, created.stderr).toBe(0);
    app = json<{ clientId: string; clientSecret?: string }>(created);
    config = await client.discovery(new URL(issuer), app.clientId, app.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
  }, 120_000);

  afterAll(async () => {
    await keys?.close();
    server?.kill('SIGTERM');
    await server;
    await home.remove();
  });

  /** An authorization request with PKCE; `prompt: login` makes the page ask again despite the provider's session. */
  async function request(prompt?: string) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...(prompt ? { prompt } : {}),
    });
    return { url, verifier, state };
  }

  /** The password step; returns the answer that shows the key step. */
  async function passwordStep(p: Page, url: URL): Promise<Response> {
    await p.goto(url.href);
    expect(await p.title()).toBe('Sign in with acctsec');
    await p.fill('input[name=username]', 'alice');
    await p.fill('input[name=password]', PASSWORD);
    const [answer] = await Promise.all([
      p.waitForResponse((r) => r.url().endsWith('/login')),
      p.click('button[type=submit]:has-text("Sign in")'),
    ]);
    await p.waitForSelector('#key-go:visible');
    return answer;
  }

  /** Presses the key step's button and returns the answer to the form it posts. */
  async function useKey(p: Page): Promise<Response> {
    const [answer] = await Promise.all([
      p.waitForResponse((r) => r.url().endsWith('/key'), { timeout: 20_000 }),
      p.click('#key-go'),
    ]);
    return answer;
  }

  /** The account's activity, newest first. */
  const activity = async () => json<Activity[]>(await home.run(['activity', '--json']));
  const keyFailures = (events: Activity[]) =>
    events.filter((e) => e.event === 'mfa.code.failed' && e.detail?.method === 'key');

  /** A browser of its own (no provider session) whose authenticator is set up by `setUp`. */
  async function otherBrowser(
    setUp?: (cdp: Awaited<ReturnType<BrowserContext['newCDPSession']>>, authenticatorId: string) => Promise<void>,
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await keys.browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: VIRTUAL_KEY });
    await setUp?.(cdp, authenticatorId);
    await page.route(`${REDIRECT}**`, (route) => route.fulfill({ body: 'back at the app' }));
    return { context, page };
  }

  it('an account whose only second factor is a key completes the authorization code flow with PKCE; the key step runs only its own hashed script', async () => {
    const { url, verifier, state } = await request();
    const p = keys.page;
    let callback: string | undefined;
    await p.route(`${REDIRECT}**`, (route) => {
      callback = route.request().url();
      return route.fulfill({ body: 'back at the app' });
    });
    const keyStep = await passwordStep(p, url);
    expect(keyStep.status()).toBe(200);

    // The key step's page: one inline script, allowed by its SHA-256 alone; nothing fetched, never framed, not kept.
    const headers = keyStep.headers();
    const csp = headers['content-security-policy']!;
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toContain('connect-src');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['cache-control']).toBe('no-store');
    const html = await keyStep.text();
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    expect(csp).toContain(`script-src 'sha256-${createHash('sha256').update(scripts[0]!).digest('base64')}'`);
    // The password waits on the server for the step, never in the page.
    expect(html).not.toContain(PASSWORD);
    // Below the key, the password again with a recovery code (the key's fallback).
    expect(html).toContain('<option value="recovery"');

    const answer = await useKey(p);
    expect(answer.status()).toBe(303);
    await p.waitForSelector('text=asks to use your account');
    await p.click('button:has-text("Allow")');
    await p.waitForURL(`${REDIRECT}**`);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.access_token).toMatch(/^acsoa_/);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: issuer, aud: app.clientId });
    expect(await client.fetchUserInfo(config, tokens.access_token, claims.sub)).toMatchObject({
      preferred_username: 'alice',
    });

    // The sign-in is the account's: a key sign-in in its activity, the key marked used.
    const events = await activity();
    expect(events.find((e) => e.event === 'signin.succeeded' && e.detail?.method === 'key')).toBeDefined();
    expect(events.find((e) => e.event === 'mfa.code.accepted' && e.detail?.method === 'key')).toBeDefined();
    const [key] = json<{ lastUsedAt: string | null }[]>(await home.run(['mfa', 'key', 'list', '--json']));
    expect(key!.lastUsedAt).not.toBeNull();
  }, 90_000);

  it('another key with the same credential id is refused and counted as a failed second factor; the step cannot be replayed', async () => {
    const before = keyFailures(await activity()).length;
    const [registered] = await keys.credentials();
    // A second authenticator that claims the registered credential, with a private key of its own.
    const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'der' })
      .toString('base64');
    const { context, page } = await otherBrowser(async (cdp, authenticatorId) => {
      await cdp.send('WebAuthn.addCredential', {
        authenticatorId,
        credential: {
          credentialId: registered!.credentialId,
          isResidentCredential: false,
          rpId: 'localhost',
          privateKey,
          signCount: registered!.signCount + 100,
        },
      });
    });
    try {
      await passwordStep(page, (await request()).url);
      const answer = await useKey(page);
      expect(answer.status()).toBe(401);
      expect(await page.textContent('[role=alert]')).toMatch(/did not verify/);
      expect(await page.title()).toBe('Sign in with acctsec');
      // The step was taken by that answer: posting it again finds nothing to finish.
      const again = await context.request.post(answer.url(), {
        form: { assertion: (answer.request().postDataJSON() as { assertion: string }).assertion },
        maxRedirects: 0,
      });
      expect(again.status()).toBe(400);
      expect(await again.text()).toContain('The security key step has ended');
    } finally {
      await context.close();
    }
    const failures = keyFailures(await activity());
    expect(failures).toHaveLength(before + 1);
    expect(failures[0]!.detail).toMatchObject({ reason: 'invalid' });
  }, 90_000);

  it('no answer (an authenticator without the key, or a form posted without one) is a failed second factor too; after five, even the right key waits', async () => {
    const before = keyFailures(await activity()).length;
    // An authenticator that holds no credential for this account: the browser refuses, and the page says so.
    const empty = await otherBrowser();
    try {
      await passwordStep(empty.page, (await request()).url);
      const answer = await useKey(empty.page);
      expect(answer.status()).toBe(401);
      expect(await empty.page.textContent('[role=alert]')).toMatch(/the browser reported/);
    } finally {
      await empty.context.close();
    }
    expect(keyFailures(await activity())).toHaveLength(before + 1);

    // A form posted with no answer, or with one that is not a WebAuthn credential.
    const bare = await otherBrowser();
    try {
      for (const assertion of ['', 'not json', JSON.stringify({ response: { id: 'x' } })]) {
        if (keyFailures(await activity()).length >= 5) break;
        await passwordStep(bare.page, (await request()).url);
        const [answer] = await Promise.all([
          bare.page.waitForResponse((r) => r.url().endsWith('/key')),
          // The page's own form, posted as its script would, with this in the hidden field.
          bare.page.evaluate(
            `(() => { const f = document.getElementById('key-step'); f.elements.assertion.value = ${JSON.stringify(assertion)}; f.submit(); })()`,
          ),
        ]);
        expect(answer.status()).toBe(401);
      }
    } finally {
      await bare.context.close();
    }
    const failures = keyFailures(await activity());
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(failures.slice(0, failures.length - before).every((f) => f.detail?.reason === 'browser')).toBe(true);

    // Five failed second factors: the sign-in's code throttle now holds the right key back too.
    const { url } = await request('login');
    await passwordStep(keys.page, url);
    const held = await useKey(keys.page);
    expect(held.status()).toBe(429);
    expect(await keys.page.textContent('[role=alert]')).toMatch(/too many failed/);

    // Support clears the throttle; the right key signs in again.
    const cleared = await home.run(['admin', 'unthrottle', 'alice', '--reason', 'test', '--yes']);
    expect(cleared.exitCode, cleared.stderr).toBe(0);
    await passwordStep(keys.page, (await request('login')).url);
    expect((await useKey(keys.page)).status()).toBe(303);
  }, 120_000);

  it('a key step cannot be driven from another site: without the interaction cookie the form is refused', async () => {
    const started = await fetch((await request()).url, { redirect: 'manual' });
    expect(started.status).toBe(303);
    const page = new URL(started.headers.get('location')!, base);
    const forged = await fetch(`${page.href}/key`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'assertion=%7B%7D',
      redirect: 'manual',
    });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('This sign-in has expired');
  });

  // Last in this file: the three steps it leaves waiting block alice's key steps for 5 minutes.
  it("an account's fourth waiting key step is refused with 503 (not counted as a failed sign-in); the three before wait", async () => {
    const step = async () => {
      const jar = new Jar(base);
      const start = await jar.follow((await request('login')).url.href);
      return jar.post(`${start.url}/login`, { username: 'alice', password: PASSWORD });
    };
    for (let i = 0; i < 3; i++) {
      const waiting = await step();
      expect(waiting.res.status).toBe(200);
      expect(await waiting.res.text()).toContain('Use a security key');
    }
    const fourth = await step();
    expect(fourth.res.status).toBe(503);
    expect(await fourth.res.text()).toContain('too many sign-ins with a security key are waiting');
  });
});

describe('PendingKeySignIns: the password waits in memory between the two steps, once, for a while', () => {
  const step = (ceremonyId: string, expiresAt: number, username = 'alice') => ({
    username,
    password: 'pw',
    ceremonyId,
    expiresAt,
  });

  it('gives a step once, nothing after it expires; a full table refuses new steps and never pushes one out', () => {
    let now = 1000;
    const steps = new PendingKeySignIns(2, () => now);
    expect(steps.put('a', step('ca', 2000))).toBe(true);
    expect(steps.take('a')?.ceremonyId).toBe('ca');
    expect(steps.take('a')).toBeUndefined();
    steps.put('b', step('cb', 2000));
    now = 2000;
    expect(steps.take('b')).toBeUndefined();
    expect(steps.put('c', step('cc', 5000, 'carol'))).toBe(true);
    expect(steps.put('d', step('cd', 5000, 'dave'))).toBe(true);
    // Full: the newcomer is refused; the two waiting keep their steps.
    expect(steps.put('e', step('ce', 5000, 'mallory'))).toBe(false);
    expect(steps.take('e')).toBeUndefined();
    expect(steps.take('c')?.ceremonyId).toBe('cc');
    expect(steps.put('f', step('cf', 5000))).toBe(true);
    steps.drop('f');
    expect(steps.take('f')).toBeUndefined();
    expect(steps.take('d')?.ceremonyId).toBe('cd');
  });

  it('an account has at most three steps waiting (any case of its name); others are not affected', () => {
    const steps = new PendingKeySignIns(100, () => 0);
    for (const [uid, name] of [
      ['1', 'mallory'],
      ['2', 'Mallory'],
      ['3', ' MALLORY '],
    ])
      expect(steps.put(uid!, step(`c${uid}`, 5000, name))).toBe(true);
    expect(steps.put('4', step('c4', 5000, 'mallory'))).toBe(false);
    expect(steps.put('5', step('c5', 5000, 'alice'))).toBe(true);
    // The same interaction asking again replaces its own step.
    expect(steps.put('3', step('c3b', 5000, 'mallory'))).toBe(true);
    expect(steps.take('3')?.ceremonyId).toBe('c3b');
  });
});
