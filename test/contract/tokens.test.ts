import { expect } from 'vitest';
import type { IpChangeOptions } from '../../src/views.js';
import { contract, DAY, failure, initAlice, MINUTE, PASSWORD, signIn, type Case } from './harness.js';

// Personal access tokens (SPEC §7): scopes, create, list, rotate, revoke, verify (introspection); the
// legacy API key: generate, status, verify, migrate, delete.

const HERE: IpChangeOptions = { allowPrivate: false, force: false, currentIp: '127.0.0.1' };

const cases: Record<string, Case> = {
  'the scope catalogue needs no session': async (world, rec) => {
    await initAlice(world);
    const scopes = rec(await world.anonymous().tokenScopes());
    expect(scopes.map((s) => s.name)).toEqual(expect.arrayContaining(['account:read', 'ip:write', 'dns:read']));
    expect(new Set(scopes.map((s) => s.source))).toEqual(new Set(['acctsec', 'provider']));
  },

  'create, list, verify active with its scopes, revoke, verify inactive': async (world, rec) => {
    const { me } = await initAlice(world);
    const t = rec(
      await me.createToken({
        name: 'ci',
        scopes: ['dns:read', 'account:read'],
        resources: ['example.com'],
        expires: '30d',
      }),
    );
    expect(t).toMatchObject({ name: 'ci', scopes: ['dns:read', 'account:read'], resources: ['example.com'] });
    expect(t.expiresAt).toBe(new Date(world.clock.now() + 30 * DAY).toISOString());
    const list = rec(await me.listTokens());
    expect(list).toEqual([expect.objectContaining({ id: t.id, name: 'ci', state: 'active', lastUsedAt: null })]);
    expect(JSON.stringify(list)).not.toContain(t.token);
    expect((await me.status()).tokens.active).toBe(1);
    world.clock.advance(MINUTE);
    const active = rec(await me.verifyToken(t.token));
    expect(active).toMatchObject({
      active: true,
      scope: 'dns:read account:read',
      username: 'alice',
      account: 'alice',
      token_type: 'Bearer',
      scopes: ['dns:read', 'account:read'],
      resources: ['example.com'],
      deprecated: false,
      exp: Math.floor(Date.parse(t.expiresAt!) / 1000),
    });
    // The use is recorded (time and, when given, the address).
    rec(await me.verifyToken(t.token, '8.8.8.8'));
    expect((await me.listTokens())[0]).toMatchObject({
      lastUsedAt: new Date(world.clock.now()).toISOString(),
      lastUsedIp: '8.8.8.8',
    });
    const revoked = rec(await me.revokeToken('ci'));
    expect(revoked).toMatchObject({ id: t.id, state: 'revoked' });
    expect(rec(await me.verifyToken(t.token))).toEqual({ active: false });
    rec(await failure(me.revokeToken('ci')));
    expect(rec(await me.listTokens())[0]?.state).toBe('revoked');
  },

  'rotate gives a new secret under the same name and ends the old one': async (world, rec) => {
    const { me } = await initAlice(world);
    const t = await me.createToken({ name: 'deploy', scopes: ['dns:write'], resources: [] });
    const fresh = rec(await me.rotateToken('deploy'));
    expect(fresh).toMatchObject({ name: 'deploy', scopes: ['dns:write'] });
    expect(fresh.token).not.toBe(t.token);
    expect(rec(await me.verifyToken(t.token))).toEqual({ active: false });
    expect(rec(await me.verifyToken(fresh.token))).toMatchObject({ active: true });
    // By id as well.
    const again = rec(await me.rotateToken(fresh.id));
    expect(again.name).toBe('deploy');
    const missing = rec(await failure(me.rotateToken('no-such-token')));
    expect(missing).toMatchObject({ class: 'NotFound', exitCode: 4 });
  },

  'create refuses bad expiries and unknown scopes (exit 2), a taken name (exit 5)': async (world, rec) => {
    const { me } = await initAlice(world);
    for (const [expires, message] of [
      ['2020-01-01', 'in the past'],
      ['500d', 'at most 366 days'],
      ['2027-02-30', 'no such date'],
      ['soon', 'use 30d, 90d'],
    ] as const) {
      const r = rec(await failure(me.createToken({ name: 'x', scopes: ['dns:read'], resources: [], expires })));
      expect(r).toMatchObject({ class: 'InvalidInput', exitCode: 2, details: { field: '--expires' } });
      expect(r.message).toContain(message);
    }
    const scope = rec(await failure(me.createToken({ name: 'x', scopes: ['root:all'], resources: [] })));
    expect(scope.message).toContain('unknown scope');
    rec(await failure(me.createToken({ name: 'x', scopes: [], resources: [] })));
    rec(await failure(me.createToken({ name: '', scopes: ['dns:read'], resources: [] })));
    rec(await me.createToken({ name: 'x', scopes: ['dns:read'], resources: [] }));
    const taken = rec(await failure(me.createToken({ name: 'x', scopes: ['dns:read'], resources: [] })));
    expect(taken).toMatchObject({ class: 'Conflict', exitCode: 5 });
  },

  'a changed character, an unknown token and an expired one are inactive': async (world, rec) => {
    const { me } = await initAlice(world);
    const t = await me.createToken({ name: 'ci', scopes: ['dns:read'], resources: [], expires: '1d' });
    const typo = t.token.slice(0, 10) + (t.token[10] === 'a' ? 'b' : 'a') + t.token.slice(11);
    expect(rec(await me.verifyToken(typo))).toEqual({ active: false });
    expect(rec(await me.verifyToken('not a token at all'))).toEqual({ active: false });
    world.clock.advance(DAY + MINUTE);
    // The session has expired too (24 idle hours): a fresh one.
    const again = await signIn(world, 'alice', PASSWORD);
    expect(rec(await again.verifyToken(t.token))).toEqual({ active: false });
    expect(rec(await again.listTokens())[0]?.state).toBe('expired');
  },

  "an address outside the account's list makes a token inactive": async (world, rec) => {
    const { me } = await initAlice(world);
    const t = await me.createToken({ name: 'ci', scopes: ['dns:read'], resources: [] });
    await me.addIp([{ text: '127.0.0.1', allowPrivate: true }, { text: '8.8.8.0/24' }], HERE);
    expect(rec(await me.verifyToken(t.token, '9.9.9.9'))).toEqual({ active: false });
    expect(rec(await me.verifyToken(t.token, '8.8.8.8'))).toMatchObject({ active: true });
    const bad = rec(await failure(me.verifyToken(t.token, 'not-an-ip')));
    expect(bad.exitCode).toBe(2);
  },

  'token changes outside the 10-minute window need identity': async (world, rec) => {
    const { me } = await initAlice(world);
    await me.createToken({ name: 'ci', scopes: ['dns:read'], resources: [] });
    world.clock.advance(11 * MINUTE);
    const need = rec(await failure(me.createToken({ name: 'cd', scopes: ['dns:read'], resources: [] })));
    expect(need).toMatchObject({ class: 'IdentityRequired', details: { accepts: { password: true, methods: [] } } });
    rec(await failure(me.rotateToken('ci')));
    rec(await failure(me.revokeToken('ci')));
    rec(await me.revokeToken('ci', { password: PASSWORD }));
    rec(await me.createToken({ name: 'cd', scopes: ['dns:read'], resources: [] }));
  },

  'the API key: generate, status, verify (deprecated), migrate to a token': async (world, rec) => {
    const { me } = await initAlice(world);
    expect(rec(await me.apiKeyStatus())).toMatchObject({ present: false, id: null, scopes: [] });
    const noKey = rec(await failure(me.migrateApiKey('migrated', undefined)));
    expect(noKey).toMatchObject({ class: 'NotFound', exitCode: 4 });
    rec(await failure(me.deleteApiKey()));
    const key = rec(await me.generateApiKey());
    const status = rec(await me.apiKeyStatus());
    expect(status).toMatchObject({ present: true, id: key.id });
    expect(rec(await me.verifyToken(key.key))).toMatchObject({ active: true, deprecated: true });
    expect((await me.status()).legacyApiKey).toBe(true);
    const token = rec(await me.migrateApiKey('migrated', '90d'));
    expect(token.scopes).toEqual(status.scopes);
    expect(token.scopes).toContain('ip:write');
    expect(rec(await me.verifyToken(key.key))).toEqual({ active: false });
    expect(rec(await me.verifyToken(token.token))).toMatchObject({ active: true, deprecated: false });
    expect(rec(await me.status())).toMatchObject({ legacyApiKey: false, tokens: { active: 1 } });
  },

  'the API key: delete ends it; generate again replaces it': async (world, rec) => {
    const { me } = await initAlice(world);
    const first = await me.generateApiKey();
    const second = rec(await me.generateApiKey());
    expect(rec(await me.verifyToken(first.key))).toEqual({ active: false });
    expect(rec(await me.verifyToken(second.key))).toMatchObject({ active: true });
    world.clock.advance(11 * MINUTE);
    rec(await failure(me.deleteApiKey()));
    rec(await me.deleteApiKey({ password: PASSWORD }));
    expect(rec(await me.apiKeyStatus()).present).toBe(false);
    expect(rec(await me.verifyToken(second.key))).toEqual({ active: false });
  },

  // RFC 7662 §2.1, documented: over HTTP introspection needs the caller's credential; locally whoever
  // can read the database at hand may verify a token without signing in.
  'introspection without a session: local answers, the server asks for a credential': async (world) => {
    const { me } = await initAlice(world);
    const t = await me.createToken({ name: 'ci', scopes: ['dns:read'], resources: [] });
    const anon = world.anonymous().verifyToken(t.token);
    if (world.name === 'local') expect(await anon).toMatchObject({ active: true });
    else expect(await failure(anon)).toMatchObject({ class: 'AuthFailed', code: 'caller_required', exitCode: 3 });
  },
};

contract(import.meta.url, cases);
