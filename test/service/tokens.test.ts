import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { Conflict, InvalidInput } from '../../src/errors.js';
import { accountStatus } from '../../src/service/accounts.js';
import { addIp } from '../../src/service/ip-allow-list.js';
import {
  apiKeyStatus,
  createToken,
  generateApiKey,
  introspectionBatch,
  migrateApiKey,
  parseExpiry,
  revokeTokenByRef,
  rotateToken,
  tokenViews,
  verifyToken,
} from '../../src/service/tokens.js';
import { inspectSecret, newSecret } from '../../src/token-format.js';
import { DAY, MINUTE, testContext, withAlice } from './context.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('token format', () => {
  it('acs_ + 32 random base62 + a 6-character CRC32: well-formed, all different', () => {
    const tokens = Array.from({ length: 200 }, () => newSecret('token'));
    for (const t of tokens) {
      expect(t).toMatch(/^acs_[0-9A-Za-z]{38}$/);
      expect(inspectSecret(t)).toEqual({ kind: 'token', valid: true });
    }
    expect(new Set(tokens).size).toBe(200);
    expect(inspectSecret(newSecret('apikey'))).toEqual({ kind: 'apikey', valid: true });
  });

  it('one changed character anywhere after the prefix fails the checksum', () => {
    const t = newSecret('token');
    for (let i = 4; i < t.length; i++) {
      const other = BASE62[(BASE62.indexOf(t[i]!) + 1 + (i % 61)) % 62]!;
      const changed = t.slice(0, i) + other + t.slice(i + 1);
      expect(inspectSecret(changed).valid, changed).toBe(false);
    }
    expect(inspectSecret(t.slice(0, -1)).valid).toBe(false);
    expect(inspectSecret('acs_ses_abc')).toMatchObject({ kind: 'session', valid: false });
    expect(inspectSecret('ghp_abc')).toMatchObject({ kind: 'unknown', valid: false });
  });
});

describe('expiry', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  it.each([
    [undefined, now + 30 * DAY],
    ['30d', now + 30 * DAY],
    ['90d', now + 90 * DAY],
    ['366d', now + 366 * DAY],
    ['2026-12-31', Date.parse('2027-01-01T00:00:00Z')],
  ])('%s', (text, at) => expect(parseExpiry(text, now)).toBe(at));

  it.each(['367d', '0d', '2026-11-22', '2020-01-01', '2028-01-01', '2026-02-30', 'tomorrow', '30', '1y'])(
    'refuses %s with exit 2',
    (text) => {
      expect(() => parseExpiry(text, now)).toThrow(InvalidInput);
    },
  );
});

describe('tokens', () => {
  const req = (name = 'ci', scopes = ['dns:read']) => ({
    name,
    scopes,
    resources: ['domain:example.com'],
    expires: '30d',
  });

  it('create, verify active with its scopes, revoke, verify inactive', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const t = await createToken(ctx, auth, req(), undefined, {});
    // RFC 7662 §2.2's members (times in seconds, by the injected clock) and SPEC §7's.
    expect(verifyToken(ctx, t.token)).toEqual({
      active: true,
      scope: 'dns:read',
      exp: Date.parse(t.expiresAt!) / 1000,
      iat: ctx.now() / 1000,
      sub: String(auth.account.id),
      username: 'alice',
      token_type: 'Bearer',
      account: 'alice',
      scopes: ['dns:read'],
      resources: ['domain:example.com'],
      expiresAt: t.expiresAt,
      deprecated: false,
    });
    await revokeTokenByRef(ctx, auth, 'ci', undefined, {});
    expect(verifyToken(ctx, t.token)).toEqual({ active: false });
    expect(tokenViews(ctx, auth.account)[0]!.state).toBe('revoked');
  });

  it('rotate: the same settings, a new secret; the old one stops at once', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const t = await createToken(ctx, auth, req('deploy', ['dns:write', 'domains:read']), undefined, {});
    const r = await rotateToken(ctx, auth, t.id, undefined, {});
    expect(r.token).not.toBe(t.token);
    expect(r).toMatchObject({
      name: 'deploy',
      scopes: ['dns:write', 'domains:read'],
      resources: ['domain:example.com'],
      expiresAt: t.expiresAt,
    });
    expect(verifyToken(ctx, t.token).active).toBe(false);
    expect(verifyToken(ctx, r.token).active).toBe(true);
  });

  it('refuses unknown scopes, no scope, a taken name, and expiry beyond 366 days or in the past', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await expect(createToken(ctx, auth, req('x', ['admin:all']), undefined, {})).rejects.toThrow(
      'unknown scope "admin:all"',
    );
    await expect(createToken(ctx, auth, req('x', []), undefined, {})).rejects.toThrow('at least one --scope');
    await expect(createToken(ctx, auth, { ...req(), expires: '400d' }, undefined, {})).rejects.toThrow(
      'at most 366 days',
    );
    await expect(createToken(ctx, auth, { ...req(), expires: '2020-01-01' }, undefined, {})).rejects.toThrow(
      'in the past',
    );
    await createToken(ctx, auth, req(), undefined, {});
    await expect(createToken(ctx, auth, req(), undefined, {})).rejects.toBeInstanceOf(Conflict);
  });

  it('an expired token (injected clock) is inactive; status lists those expiring within 7 days', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const t = await createToken(ctx, auth, { ...req(), expires: '10d' }, undefined, {});
    expect(accountStatus(ctx, auth).tokens).toEqual({ active: 1, expiringSoon: [] });
    ctx.clock.advance(4 * DAY);
    expect(accountStatus(ctx, auth).tokens.expiringSoon.map((x) => x.name)).toEqual(['ci']);
    ctx.clock.advance(6 * DAY + 1);
    expect(verifyToken(ctx, t.token).active).toBe(false);
    expect(tokenViews(ctx, auth.account)[0]!.state).toBe('expired');
  });

  it('inactive for a locked account, and from outside the IP list; records last use at most once a minute', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const t = await createToken(ctx, auth, req(), undefined, {});
    await addIp(ctx, auth, [{ text: '8.8.8.0/24' }], { allowPrivate: false, force: true }, undefined, {});
    expect(verifyToken(ctx, t.token, '9.9.9.9').active).toBe(false);
    const first = ctx.now();
    expect(verifyToken(ctx, t.token, '8.8.8.8').active).toBe(true);
    ctx.clock.advance(30_000);
    verifyToken(ctx, t.token, '8.8.8.8');
    expect(tokenViews(ctx, auth.account)[0]).toMatchObject({
      lastUsedAt: new Date(first).toISOString(),
      lastUsedIp: '8.8.8.8',
    });
    ctx.clock.advance(MINUTE);
    verifyToken(ctx, t.token, '8.8.8.8');
    expect(tokenViews(ctx, auth.account)[0]!.lastUsedAt).toBe(new Date(ctx.now()).toISOString());
    ctx.db.prepare('UPDATE accounts SET locked_at = ?').run(ctx.now());
    expect(verifyToken(ctx, t.token, '8.8.8.8').active).toBe(false);
  });

  it('a malformed or unknown token is inactive', () => {
    const ctx = testContext();
    expect(verifyToken(ctx, 'acs_nope').active).toBe(false);
    expect(verifyToken(ctx, newSecret('token')).active).toBe(false);
  });
});

describe('the deprecated API key', () => {
  it('verifies with deprecated: true; migrate moves its scopes to a token and deletes it', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const { key } = await generateApiKey(ctx, auth, undefined, {});
    expect(verifyToken(ctx, key)).toMatchObject({ active: true, deprecated: true, account: 'alice' });
    expect(apiKeyStatus(ctx, auth.account).present).toBe(true);
    const t = await migrateApiKey(ctx, auth, 'migrated', '90d', undefined, {});
    expect(verifyToken(ctx, t.token)).toMatchObject({ scopes: t.scopes });
    expect(t.scopes).toContain('account:read');
    expect(verifyToken(ctx, key).active).toBe(false);
    expect(apiKeyStatus(ctx, auth.account).present).toBe(false);
  });
});

describe('introspection answers kept in memory (migration 008)', () => {
  const req = (name: string, scopes: string[], expires = '30d') => ({ name, scopes, resources: [], expires });
  /** Two connections to one database file: this process's and "another process's". */
  function twoConnections() {
    const dir = mkdtempSync(join(tmpdir(), 'acctsec-gen-'));
    const path = join(dir, 'acctsec.db');
    const base = testContext();
    const ctx = { ...base, db: openStore(path, { create: true }) };
    const other = openStore(path, { create: false });
    return { ctx, other, done: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const generation = (db: ReturnType<typeof openStore>) =>
    (db.prepare('SELECT n FROM change_generation').get() as { n: number }).n;

  it("sees another connection's revocation, lock, rename, scopes and IP list at the very next check", async () => {
    const { ctx, other, done } = twoConnections();
    try {
      const { auth } = await withAlice(ctx);
      const t = await createToken(ctx, auth, req('ci', ['dns:read']), undefined, {});
      const id = t.id;
      expect(verifyToken(ctx, t.token, '198.51.100.7')).toMatchObject({
        active: true,
        account: 'alice',
        scopes: ['dns:read'],
      });
      expect(verifyToken(ctx, t.token, '198.51.100.7').active).toBe(true); // now answered from memory

      other.prepare('UPDATE tokens SET scopes = \'["dns:read","dns:write"]\' WHERE id = ?').run(id);
      expect(verifyToken(ctx, t.token)).toMatchObject({
        scopes: ['dns:read', 'dns:write'],
        scope: 'dns:read dns:write',
      });
      other.prepare("UPDATE accounts SET username = 'alice.ops' WHERE username = 'alice'").run();
      expect(verifyToken(ctx, t.token)).toMatchObject({ account: 'alice.ops', username: 'alice.ops' });
      other.prepare('UPDATE accounts SET locked_at = 1').run();
      expect(verifyToken(ctx, t.token).active).toBe(false);
      other.prepare('UPDATE accounts SET locked_at = NULL').run();
      expect(verifyToken(ctx, t.token).active).toBe(true);
      other
        .prepare("INSERT INTO ip_allow_list (account_id, cidr, created_at) VALUES (?, '203.0.113.0/24', 1)")
        .run(auth.account.id);
      expect(verifyToken(ctx, t.token, '198.51.100.7').active).toBe(false);
      expect(verifyToken(ctx, t.token, '203.0.113.9').active).toBe(true);
      other.prepare('DELETE FROM ip_allow_list').run();
      other.prepare('UPDATE tokens SET expires_at = 1 WHERE id = ?').run(id);
      expect(verifyToken(ctx, t.token).active).toBe(false);
      other.prepare('UPDATE tokens SET expires_at = NULL, revoked_at = 1 WHERE id = ?').run(id);
      expect(verifyToken(ctx, t.token).active).toBe(false);
      other.prepare('DELETE FROM tokens WHERE id = ?').run(id);
      expect(verifyToken(ctx, t.token).active).toBe(false);
    } finally {
      other.close();
      ctx.db.close();
      done();
    }
  });

  it('a batch of introspections reads the counter once, on entry; the next batch sees what changed meanwhile', async () => {
    const { ctx, other, done } = twoConnections();
    try {
      const { auth } = await withAlice(ctx);
      const t = await createToken(ctx, auth, req('ci', ['dns:read']), undefined, {});
      expect(verifyToken(ctx, t.token).active).toBe(true);
      const answers = introspectionBatch(ctx, () => {
        const first = verifyToken(ctx, t.token).active;
        // Committed after the batch's read: the batch's answers are those of its moment (serve takes
        // that read only after every request of the batch has arrived, so none was sent after it).
        other.prepare('UPDATE tokens SET revoked_at = 1 WHERE id = ?').run(t.id);
        return [first, verifyToken(ctx, t.token).active];
      });
      expect(answers).toEqual([true, true]);
      expect(introspectionBatch(ctx, () => verifyToken(ctx, t.token).active)).toBe(false);
      expect(verifyToken(ctx, t.token).active).toBe(false);
      // Outside a batch every check reads the counter itself again.
      other.prepare('UPDATE tokens SET revoked_at = NULL WHERE id = ?').run(t.id);
      expect(verifyToken(ctx, t.token).active).toBe(true);
    } finally {
      other.close();
      ctx.db.close();
      done();
    }
  });

  it('expiry is judged at each check, and recording a use does not empty the cache', async () => {
    const { ctx, other, done } = twoConnections();
    try {
      const { auth } = await withAlice(ctx);
      const t = await createToken(ctx, auth, req('ci', ['dns:read'], '1d'), undefined, {});
      expect(verifyToken(ctx, t.token).active).toBe(true);
      const before = generation(other);
      ctx.clock.advance(2 * MINUTE);
      expect(verifyToken(ctx, t.token, '198.51.100.7').active).toBe(true); // writes last used (a minute passed, a new address)
      expect(generation(other)).toBe(before);
      ctx.clock.advance(DAY);
      expect(verifyToken(ctx, t.token).active).toBe(false);
    } finally {
      other.close();
      ctx.db.close();
      done();
    }
  });
});
