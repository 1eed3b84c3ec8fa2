import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultPromise } from 'execa';
import { request } from 'undici';
import * as client from 'openid-client';
import { Home, json, PASSWORD } from '../e2e/helpers.js';
import { startServe } from './serve.js';

// Token introspection (issue #14, point 4; RFC 7662) checked with an OAuth 2.0 client nobody here
// wrote: openid-client v6 (on oauth4webapi), whose tokenIntrospection() sends the request and runs
// its own strict response processing (status 200, Content-Type application/json, a JSON object,
// `active` a boolean; a WWW-Authenticate challenge or an error status is an error).

/** Introspection calls per second per caller for this server: small, so the limiter can be reached. */
const RATE = 20;

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * A resource server's view of acctsec: a Configuration built from the server's metadata (no
 * discovery document: acctsec serves none). The caller's credential goes in `Authorization: Bearer`
 * through a ClientAuth of our own — the library's hook for client authentication, the one its
 * ClientSecretBasic uses to set the same header — so the body carries only what introspection needs.
 * Every request the library sends is kept in `sent`.
 */
function resourceServer(
  url: string,
  callerToken: string | undefined,
  auth?: client.ClientAuth,
): { config: client.Configuration; sent: Sent[] } {
  const bearer: client.ClientAuth = (_as, _client, _body, headers) => {
    if (callerToken !== undefined) headers.set('authorization', `Bearer ${callerToken}`);
  };
  const config = new client.Configuration(
    { issuer: url, introspection_endpoint: `${url}/v1/tokens/introspect` },
    'resource-server',
    undefined,
    auth ?? bearer,
  );
  client.allowInsecureRequests(config); // plain http, on loopback only
  const sent: Sent[] = [];
  config[client.customFetch] = (u, options) => {
    sent.push({ url: u, method: options.method, headers: options.headers, body: options.body });
    return fetch(u, options);
  };
  return { config, sent };
}

/** What the library throws for an answer it does not take: its code, and the HTTP response behind it. */
async function rejection(
  p: Promise<unknown>,
): Promise<{ error: Error & { code?: string; status?: number; cause?: unknown }; status: number; body: unknown }> {
  const error = (await p.then(
    () => {
      throw new Error('the library accepted the answer');
    },
    (e: unknown) => e,
  )) as Error & { code?: string; status?: number; cause?: unknown; response?: Response };
  const response =
    error instanceof client.WWWAuthenticateChallengeError
      ? error.response
      : error.cause instanceof Response
        ? error.cause
        : undefined;
  if (!response) throw error;
  return { error, status: response.status, body: response.bodyUsed ? undefined : await response.json() };
}

/** tokenIntrospection, and when the library refuses the answer, an error naming the HTTP status and body. */
async function introspect(config: client.Configuration, token: string): Promise<client.IntrospectionResponse> {
  try {
    return await client.tokenIntrospection(config, token);
  } catch (e) {
    const { error, status, body } = await rejection(Promise.reject(e instanceof Error ? e : new Error(String(e))));
    throw new Error(
      `the library refused the answer (${error.name} ${error.code ?? ''}): HTTP ${status} ${JSON.stringify(body)}`,
      { cause: e },
    );
  }
}

const epochSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('POST /v1/tokens/introspect through openid-client (RFC 7662)', () => {
  const home = new Home();
  let server: ResultPromise;
  let url = '';
  let stderr = '';
  const started = epochSeconds();

  /** A new personal access token of alice's, created through the CLI (signed in). */
  const create = async (name: string, scopes: string[]) => {
    const r = await home.run(['token', 'create', '--name', name, ...scopes.flatMap((s) => ['--scope', s]), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return json<{ id: string; token: string; scopes: string[]; expiresAt: string }>(r);
  };
  /** Raw form-encoded introspection, for what the library does not show (headers, error bodies). */
  const rawIntrospect = (token: string, headers: Record<string, string> = {}) =>
    request(`${url}/v1/tokens/introspect`, {
      method: 'POST',
      body: new URLSearchParams({ token }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });

  let caller = '';
  let rs: ReturnType<typeof resourceServer>;

  beforeAll(async () => {
    ({ server, url } = await startServe(home, ['--introspection-rate', String(RATE)]));
    server.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    home.env.ACCTSEC_REMOTE = url;
    const r = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    caller = (await create('rs', ['tokens:introspect'])).token;
    rs = resourceServer(url, caller);
  });
  afterAll(async () => {
    server.kill('SIGTERM');
    await server;
    await home.remove();
  });

  it("a live token is active, with the RFC 7662 members and ours, and exp is the token's expiry", async () => {
    const created = await create('svc', ['dns:read', 'account:read']);
    const r = await client.tokenIntrospection(rs.config, created.token);
    expect(r).toMatchObject({ active: true, scope: 'dns:read account:read', username: 'alice', token_type: 'Bearer' });
    expect(r.sub).toMatch(/^\d+$/);
    expect(Number.isInteger(r.exp) && Number.isInteger(r.iat)).toBe(true);
    expect(r.exp).toBe(Math.floor(Date.parse(created.expiresAt) / 1000));
    expect(r.iat).toBeGreaterThanOrEqual(started - 1);
    expect(r.iat).toBeLessThanOrEqual(epochSeconds());
    expect(r.exp!).toBeGreaterThan(r.iat!);
    // Our members beside the RFC's.
    expect(r).toMatchObject({
      account: 'alice',
      scopes: ['dns:read', 'account:read'],
      resources: [],
      expiresAt: created.expiresAt,
      deprecated: false,
    });
    // `sub` is the account's: the caller's own token (alice's too) has the same one.
    const self = await client.tokenIntrospection(rs.config, caller);
    expect(self).toMatchObject({ active: true, sub: r.sub, scope: 'tokens:introspect' });
    // token_type_hint (RFC 7662 §2.1) is allowed and changes nothing.
    expect(await client.tokenIntrospection(rs.config, created.token, { token_type_hint: 'access_token' })).toEqual(r);
  });

  it("the library sends a form-encoded POST with the caller's Bearer credential, and the server takes it", async () => {
    const created = await create('form', ['dns:read']);
    const before = rs.sent.length;
    expect(
      (await client.tokenIntrospection(rs.config, created.token, { token_type_hint: 'access_token' })).active,
    ).toBe(true);
    const req = rs.sent[before]!;
    expect(req.url).toBe(`${url}/v1/tokens/introspect`);
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded\b/);
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers.authorization).toBe(`Bearer ${caller}`);
    expect(req.body).toBeInstanceOf(URLSearchParams);
    expect(Object.fromEntries(req.body as URLSearchParams)).toEqual({
      token: created.token,
      token_type_hint: 'access_token',
    });
  });

  it('a revoked token and garbage are { active: false } and nothing else', async () => {
    const created = await create('to-revoke', ['dns:read']);
    expect((await client.tokenIntrospection(rs.config, created.token)).active).toBe(true);
    const revoke = await home.run(['token', 'revoke', 'to-revoke', '--no-input']);
    expect(revoke.exitCode, revoke.stderr).toBe(0);
    for (const token of [
      created.token,
      'garbage',
      `acs_${'A'.repeat(38)}`,
      created.token.slice(0, -1) + (created.token.endsWith('A') ? 'B' : 'A'),
    ]) {
      const r = await client.tokenIntrospection(rs.config, token);
      expect(r, token).toStrictEqual({ active: false });
    }
  });

  // openid-client's default client authentication for a client without a secret, None() (RFC 6749
  // §2.3.1), sends `client_id=...` in the form: the server ignores it (RFC 6749 §3.2).
  it("the library's default None() client authentication (client_id in the body) is accepted", async () => {
    const withClientId = resourceServer(url, undefined, client.None());
    withClientId.config[client.customFetch] = (u, options) =>
      fetch(u, { ...(options as RequestInit), headers: { ...options.headers, authorization: `Bearer ${caller}` } });
    const created = await create('none-auth', ['dns:read']);
    expect((await client.tokenIntrospection(withClientId.config, created.token)).active).toBe(true);
  });

  it("without the caller's credential the library fails on the 401 challenge, WWW-Authenticate: Bearer", async () => {
    const created = await create('anonymous', ['dns:read']);
    const anonymous = resourceServer(url, undefined);
    const { error, status } = await rejection(client.tokenIntrospection(anonymous.config, created.token));
    expect(error).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    expect(status).toBe(401);
    expect(error.cause).toEqual([{ scheme: 'bearer', parameters: { realm: 'acctsec' } }]);
    const raw = await rawIntrospect(created.token);
    expect(raw.statusCode).toBe(401);
    expect(raw.headers['www-authenticate']).toBe('Bearer realm="acctsec"');
    expect(((await raw.body.json()) as { error: { code: string } }).error.code).toBe('caller_required');
  });

  it('a caller token without the scope tokens:introspect gets 403 missing_scope', async () => {
    const reader = await create('no-introspect', ['account:read']);
    const { error, status, body } = await rejection(
      client.tokenIntrospection(resourceServer(url, reader.token).config, reader.token),
    );
    expect(status).toBe(403);
    // RFC 6750 §3.1: the challenge names the error and the scope, and the library reads it.
    expect(error).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    expect(error.cause).toEqual([{ scheme: 'bearer', parameters: { realm: 'acctsec', error: 'insufficient_scope' } }]);
    expect(body).toEqual({
      error: { code: 'missing_scope', message: 'the access token lacks the scope tokens:introspect' },
    });
  });

  it('100 inactive answers in a row (under the rate) do not make the next active check fail', async () => {
    const own = resourceServer(url, (await create('steady', ['tokens:introspect'])).token);
    const live = await create('live', ['dns:read']);
    // 25 calls a second against 20 refilled and a bucket of 40: never empty.
    for (let i = 0; i < 100; i++) {
      expect(await client.tokenIntrospection(own.config, `not-a-token-${i}`)).toStrictEqual({ active: false });
      await sleep(40);
    }
    expect(await client.tokenIntrospection(own.config, live.token)).toMatchObject({ active: true, scope: 'dns:read' });
  });

  describe('acctsec token verify --json against the server', () => {
    let live = '';
    let revoked = '';
    beforeAll(async () => {
      live = (await create('cli-live', ['dns:read'])).token;
      revoked = (await create('cli-revoked', ['dns:read'])).token;
      expect((await home.run(['token', 'revoke', 'cli-revoked', '--no-input'])).exitCode).toBe(0);
    });

    it('with the profile signed in (its session is the caller)', async () => {
      const r = await home.run(['token', 'verify', '--json'], { input: live });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(json(r)).toMatchObject({ active: true, username: 'alice', scope: 'dns:read', token_type: 'Bearer' });
      const inactive = await home.run(['token', 'verify', '--json'], { input: revoked });
      expect(inactive.exitCode).toBe(3);
      expect(inactive.stdout.trim()).toBe(JSON.stringify({ active: false }, null, 2));
      expect(JSON.parse(inactive.stdout)).toStrictEqual({ active: false });
    });

    it('from a fresh profile with ACCTSEC_TOKEN=<the caller token>', async () => {
      const other = new Home();
      try {
        const env = { ACCTSEC_TOKEN: caller };
        const r = await other.run(['--remote', url, 'token', 'verify', '--json'], { env, input: live });
        expect(r.exitCode, r.stderr).toBe(0);
        expect(json(r)).toMatchObject({ active: true, username: 'alice', scope: 'dns:read' });
        const inactive = await other.run(['--remote', url, 'token', 'verify', '--json'], { env, input: revoked });
        expect(inactive.exitCode).toBe(3);
        expect(JSON.parse(inactive.stdout)).toStrictEqual({ active: false });
        const garbage = await other.run(['--remote', url, 'token', 'verify', '--json'], { env, input: 'garbage' });
        expect(garbage.exitCode).toBe(3);
        expect(JSON.parse(garbage.stdout)).toStrictEqual({ active: false });
      } finally {
        await other.remove();
      }
    });
  });

  // Last: these drive one caller into its limit.
  const flood = { flooder: '', throttled: [] as { status: number; body: unknown; retryAfter: unknown }[] };

  it('a flood of garbage from one caller gets it 429 with Retry-After, after its burst of inactive answers', async () => {
    flood.flooder = (await create('flooder', ['tokens:introspect'])).token;
    // Twice the burst, at once.
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 4 * RATE }, async (_, i) => {
        const r = await rawIntrospect(`garbage-${i}`, { authorization: `Bearer ${flood.flooder}` });
        return { status: r.statusCode, body: await r.body.json(), retryAfter: r.headers['retry-after'] };
      }),
    );
    const ok = answers.filter((a) => a.status === 200);
    flood.throttled = answers.filter((a) => a.status === 429);
    expect(ok.length + flood.throttled.length).toBe(answers.length);
    expect(ok.length).toBeGreaterThanOrEqual(2 * RATE);
    // And no more than the bucket held plus what it refilled meanwhile: the requests of one event-loop
    // turn are answered together, and each must still be charged before the next is let through.
    expect(ok.length).toBeLessThanOrEqual(2 * RATE + Math.ceil(((Date.now() - started) / 1000) * RATE) + 1);
    for (const a of ok) expect(a.body).toStrictEqual({ active: false });
    expect(flood.throttled.length).toBeGreaterThan(0);
    const first = flood.throttled[0]!;
    expect(Number(first.retryAfter)).toBeGreaterThan(0);
    expect(first.body).toMatchObject({
      error: { code: 'throttled', message: expect.stringContaining('from this caller') as unknown },
    });
  });

  // The route is also `limited` per address for failed caller credentials; a caller's own 429s must
  // not count there, or one resource server's flood would lock out its whole address.
  it('after the flood, another caller is answered at once, and the flooder again once its bucket refills (no lock-out)', async () => {
    expect(flood.throttled.length).toBeGreaterThan(0);
    const second = resourceServer(url, (await create('second', ['tokens:introspect'])).token);
    const live = await create('flood-live', ['dns:read']);
    // Another resource server, from the same address, is not held up by the first one's flood.
    expect(await introspect(second.config, live.token)).toMatchObject({ active: true, scope: 'dns:read' });
    // The flooder's bucket refills (RATE a second): it is answered again.
    await sleep(Number(flood.throttled[0]!.retryAfter) * 1000 + 100);
    expect(await introspect(resourceServer(url, flood.flooder).config, live.token)).toMatchObject({
      active: true,
      scope: 'dns:read',
    });
  });

  it('logs nothing unexpected', () => {
    expect(stderr).not.toContain('internal error');
  });
});
