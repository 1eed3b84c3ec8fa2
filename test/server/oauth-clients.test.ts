import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
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
} from './oauth-helpers.js';

// Issue #21 with two more clients nobody here wrote: openid-client's own device-flow functions
// (initiateDeviceAuthorization, pollDeviceAuthorizationGrant) and jose, which checks ID-token
// signatures against the published JWKS (openid-client does not for a token it got straight from
// the token endpoint) across a key rotation. The server runs with a clock a test can move forward
// (test/server/clock-shift.mjs, preloaded: SIGUSR2 = 11 minutes later), to let a device code expire.

const CLOCK_SHIFT = fileURLToPath(new URL('./clock-shift.mjs', import.meta.url));

describe('openid-client device flow, jose on ID tokens, expiry and key rotation', () => {
  const home = new Home(false);
  let server: ResultPromise | undefined;
  let base = '';
  let issuer = '';

  beforeAll(async () => {
    ({ server, base, issuer } = await startOAuthServe(home, { nodeArgs: ['--import', CLOCK_SHIFT] }));
  }, 90_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await server;
    await home.remove();
  });

  const discover = (clientId: string) =>
    client.discovery(new URL(issuer), clientId, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });

  /** The authorization code flow for a public app, by the jar; the tokens from openid-client. */
  async function idTokenFor(clientId: string): Promise<string> {
    const { url, verifier } = authorizeUrl(issuer, clientId, { scope: 'openid', nonce: 'n1' });
    const jar = new Jar(base);
    const done = await signInAndAllow(jar, await jar.follow(url.href));
    const tokens = await client.authorizationCodeGrant(await discover(clientId), new URL(done.away!), {
      pkceCodeVerifier: verifier,
      expectedState: 'st',
      expectedNonce: 'n1',
    });
    return tokens.id_token!;
  }

  it('device authorization with openid-client: initiate, approve in the browser, poll; the ID token verifies with jose', async () => {
    const config = await discover('acctsec-cli');
    const started = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    expect(started.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(started.verification_uri).toBe(`${issuer}/device`);
    const jar = new Jar(base);
    const form = hiddenFields(await confirmPage(jar, started.verification_uri_complete!));
    const done = await signInAndAllow(jar, await jar.post(`${issuer}/device`, form));
    expect(await done.res.text()).toContain('go back to your terminal');
    const tokens = await client.pollDeviceAuthorizationGrant(config, started);
    expect(tokens.access_token).toMatch(/^acsoa_/);
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, {
      issuer,
      audience: 'acctsec-cli',
      algorithms: ['RS256'],
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.sub).toMatch(/^\d+$/);
    // The token of a device login is traded once for a session, then spent.
    const trade = () =>
      fetch(`${issuer}/acctsec/session`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
    expect((await trade()).status).toBe(200);
    expect((await trade()).status).toBe(401);
  }, 60_000);

  it('an expired device code: the page says the code is not valid, polling answers expired_token', async () => {
    const config = await discover('acctsec-cli');
    const started = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    expect(started.expires_in).toBe(600);
    server!.kill('SIGUSR2'); // 11 minutes later, for the server
    await new Promise((r) => setTimeout(r, 300));
    const page = await confirmPage(new Jar(base), started.verification_uri_complete!);
    expect(page).toContain('That code is not valid');
    await expect(client.pollDeviceAuthorizationGrant(config, started)).rejects.toMatchObject({
      error: 'expired_token',
    });
    // Asked by hand as well: a 400 with the standard code, never a 500.
    const res = await deviceTokenRequest(issuer, started.device_code);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'expired_token' });
  }, 60_000);

  it('a key rotation over HTTP: new ID tokens name the new key, old ones verify until a second rotation retires their key', async () => {
    const app = await home.run(
      ['apps', 'create', '--name', 'Signed app', '--redirect-uri', REDIRECT, '--public', '--json'],
      {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      },
    );
    expect(app.exitCode, app.stderr).toBe(0);
    const clientId = json<{ clientId: string }>(app).clientId;
    const verify = (jwt: string) =>
      jwtVerify(jwt, createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
        issuer,
        audience: clientId,
        algorithms: ['RS256'],
      });
    const kids = async () =>
      ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: Array<{ kid: string; d?: string }> }).keys.map((k) => {
        expect(k.d).toBeUndefined();
        return k.kid;
      });

    const first = await idTokenFor(clientId);
    const kid1 = decodeProtectedHeader(first).kid!;
    await verify(first);
    const rotate = () => home.run(['admin', 'oauth', 'keys', 'rotate', '--reason', 'test rotation', '--yes', '--json']);
    const r1 = await rotate();
    expect(r1.exitCode, r1.stderr).toBe(0);
    const afterOne = await kids();
    expect(afterOne).toHaveLength(2);
    expect(afterOne[1]).toBe(kid1);
    const second = await idTokenFor(clientId);
    const kid2 = decodeProtectedHeader(second).kid!;
    expect(kid2).toBe(afterOne[0]);
    expect(kid2).not.toBe(kid1);
    await verify(first);
    await verify(second);
    const r2 = await rotate();
    expect(r2.exitCode, r2.stderr).toBe(0);
    const afterTwo = await kids();
    expect(afterTwo).not.toContain(kid1);
    expect(afterTwo[1]).toBe(kid2);
    await expect(verify(first)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await verify(second);
  }, 60_000);
});
