import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { BIN, freePort, PASSWORD, type Home } from '../e2e/helpers.js';

// What the OAuth provider's tests share (issue #21): a server with --public-url, and a browser
// without a screen for the provider's pages. The pages run no script, so a cookie jar that follows
// redirects and posts forms is all a browser does there; the provider's device page with the code in
// its URL is the exception (a page that posts the code back by script): confirmPage does that post.

export interface OAuthServer {
  server: ResultPromise;
  /** http://localhost:PORT: the public URL (browsers and OAuth clients use it). */
  base: string;
  /** base + /oauth2 */
  issuer: string;
  stop(): Promise<void>;
}

/**
 * `acctsec serve --public-url http://localhost:PORT` over a new database in the home, set up with
 * `init` over HTTP (alice, PASSWORD); the home's CLI is pointed at it. `nodeArgs` go before the bin
 * (a preload), `args` after `serve`'s own.
 */
export async function startOAuthServe(
  home: Home,
  options: { args?: string[]; nodeArgs?: string[] } = {},
): Promise<OAuthServer> {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const db = join(home.dir, 'server.db');
  const server = execa(
    'node',
    [
      ...(options.nodeArgs ?? []),
      BIN,
      'serve',
      '--db',
      db,
      '--create',
      '--listen',
      `127.0.0.1:${port}`,
      '--public-url',
      base,
      ...(options.args ?? []),
    ],
    { env: home.env, extendEnv: false, reject: false },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    server.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening on')) resolve();
    });
    server.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    void server.then(() => reject(new Error(`serve ended: ${out}`)));
  });
  home.env.ACCTSEC_REMOTE = `http://127.0.0.1:${port}`;
  home.env.ACCTSEC_BOOTSTRAP_SECRET = readFileSync(`${db}.bootstrap-secret`, 'utf8').trim();
  expect((await home.init()).exitCode).toBe(0);
  return {
    server,
    base,
    issuer: `${base}/oauth2`,
    stop: async () => {
      server.kill('SIGTERM');
      await server;
    },
  };
}

/** A browser without a screen: cookies (by name; the paths do not matter here) and manual redirects. */
export class Jar {
  private readonly cookies = new Map<string, string>();

  /** `base`: the server's origin, or that of the jar's first request; `from`: the X-Forwarded-For to send. */
  constructor(
    private base?: string,
    private readonly from?: string,
  ) {}

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if (this.from) headers.set('x-forwarded-for', this.from);
    const target = new URL(url, this.base);
    this.base ??= target.origin;
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = line
        .split(';')
        .slice(1)
        .some((attribute) => {
          const [k = '', v = ''] = attribute.trim().split('=');
          return (/^max-age$/i.test(k) && Number(v) <= 0) || (/^expires$/i.test(k) && Date.parse(v) < Date.now());
        });
      if (value === '' || gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Follows redirects on this server; returns the last answer and where a redirect elsewhere pointed. */
  async follow(url: string, init: RequestInit = {}): Promise<{ res: Response; url: string; away?: string }> {
    let res = await this.fetch(url, init);
    let at = new URL(url, this.base).href;
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location')!, at);
      if (next.origin !== new URL(this.base!).origin) return { res, url: at, away: next.href };
      at = next.href;
      res = await this.fetch(at);
    }
    return { res, url: at };
  }

  /** Posts a form (as a browser would from a page of this server: same-origin). */
  post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.follow(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/**
 * The device page for a verification URL with the code in it: the provider answers with a page that
 * posts the code back at once (a script does it in a browser; here the jar does), then the confirm page.
 */
export async function confirmPage(jar: Jar, verificationUriComplete: string): Promise<string> {
  const auto = await jar.fetch(verificationUriComplete);
  const html = await auto.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form on the device page: ${html.slice(0, 300)}`);
  const next = await jar.post(action.replace(/&amp;/g, '&'), hiddenFields(html));
  return next.res.text();
}

export const title = async (res: Response) => /<title>([^<]*)<\/title>/.exec(await res.text())?.[1] ?? '';

/** The hidden fields of the provider's device forms. */
export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input\b[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(m[0])?.[1];
    const value = /\bvalue="([^"]*)"/.exec(m[0])?.[1];
    if (name && value !== undefined && /type="hidden"/.test(m[0])) out[name] = value;
  }
  return out;
}

/** Where the tests' applications are sent back (nothing listens there: the jar stops at it). */
export const REDIRECT = 'http://127.0.0.1:9/cb';

/** An authorization request with PKCE (S256), state `st`; the verifier to trade its code with. */
export function authorizeUrl(
  issuer: string,
  clientId: string,
  extra: Record<string, string> = {},
): { url: URL; verifier: string } {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid offline_access',
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  }).toString();
  return { url, verifier };
}

/**
 * On the provider's pages from `start`: signs in with the password when the page asks (alice by
 * default), then allows; returns the last answer (a redirect back to the app is in `away`).
 */
export async function signInAndAllow(
  jar: Jar,
  start: { res: Response; url: string; away?: string },
  who: { username: string; password: string } = { username: 'alice', password: PASSWORD },
) {
  let step = start;
  if ((await title(step.res.clone())) === 'Sign in with acctsec')
    step = await jar.post(`${step.url}/login`, { username: who.username, password: who.password });
  expect(await step.res.text()).toMatch(/asks to use your account|A terminal asks for a session/);
  return jar.post(`${step.url}/confirm`, {});
}

/** The device's poll at the token endpoint, by hand (RFC 8628 §3.4), as the CLI client. */
export function deviceTokenRequest(issuer: string, deviceCode: string): Promise<Response> {
  return fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: deviceCode,
      client_id: 'acctsec-cli',
    }),
  });
}
