import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorizedApps, revokeAuthorizedApp, rotateOAuthKeys } from '../../src/service/oauth-grants.js';
import { createOAuthStorage } from '../../src/service/oauth-storage.js';
import { insertOAuthApp } from '../../src/store/oauth-apps.js';
import { HOUR, testContext, withAlice } from './context.js';

// Issue #21: "authorized applications" lists what a person allowed; revoking ends the grant and
// every token under it at once; only admins rotate the signing keys, and the rotation is audited.

async function setUp() {
  const ctx = testContext();
  const { auth } = await withAlice(ctx);
  const storage = createOAuthStorage(() => ctx);
  const app = (clientId: string, name: string) =>
    insertOAuthApp(ctx.db, {
      client_id: clientId,
      owner_account_id: auth.account.id,
      name,
      redirect_uris: JSON.stringify(['https://app.example/cb']),
      public: 0,
      secret_hash: createHash('sha256').update('s').digest(),
      created_at: ctx.now(),
    });
  app('app_one', 'Printer');
  app('app_two', 'Calendar');
  const sub = String(auth.account.id);
  const iat = Math.floor(ctx.now() / 1000);
  storage.upsert(
    'Grant',
    'g1',
    { accountId: sub, clientId: 'app_one', iat, openid: { scope: 'openid email' } },
    3600 * 24,
  );
  storage.upsert('AccessToken', 'acsoa_a1', { accountId: sub, clientId: 'app_one', grantId: 'g1', iat: iat + 60 }, 600);
  storage.upsert('RefreshToken', 'acsoa_r1', { accountId: sub, clientId: 'app_one', grantId: 'g1', iat }, 3600);
  storage.upsert('Grant', 'g2', { accountId: sub, clientId: 'app_two', iat, openid: { scope: 'openid' } }, 3600 * 24);
  return { ctx, auth, storage };
}

describe('authorized applications', () => {
  it('lists each application once with its scopes, first authorization and last token', async () => {
    const { ctx, auth } = await setUp();
    const apps = authorizedApps(ctx, auth);
    expect(apps.map((a) => a.name)).toEqual(['Calendar', 'Printer']);
    const printer = apps.find((a) => a.clientId === 'app_one')!;
    expect(printer).toMatchObject({ owner: 'alice', scopes: ['email', 'openid'] });
    expect(Date.parse(printer.lastUsedAt) - Date.parse(printer.firstAuthorizedAt)).toBe(60_000);
  });

  it('revoking ends the grant and its tokens at once, leaves the other app alone, and is logged', async () => {
    const { ctx, auth, storage } = await setUp();
    const r = revokeAuthorizedApp(ctx, auth, 'printer', { ip: '192.0.2.1' });
    expect(r).toMatchObject({ clientId: 'app_one', removed: 3 });
    expect(storage.find('AccessToken', 'acsoa_a1')).toBeUndefined();
    expect(storage.find('RefreshToken', 'acsoa_r1')).toBeUndefined();
    expect(storage.find('Grant', 'g2')).toBeDefined();
    expect(authorizedApps(ctx, auth).map((a) => a.clientId)).toEqual(['app_two']);
    expect(() => revokeAuthorizedApp(ctx, auth, 'app_one', {})).toThrow(/no application "app_one"/);
    const events = ctx.db.prepare("SELECT event FROM activity WHERE event LIKE 'oauth.%'").all();
    expect(events).toEqual([{ event: 'oauth.revoked' }]);
  });

  it('expired grants are not listed', async () => {
    const { ctx, auth } = await setUp();
    ctx.clock.advance(25 * HOUR);
    expect(authorizedApps(ctx, auth)).toEqual([]);
  });

  it('only an admin rotates the signing keys; the rotation is in the audit log', async () => {
    const { ctx, auth, storage } = await setUp();
    const before = storage.signingKeys().keys[0]!.kid;
    ctx.clock.advance(1000);
    const { kid } = rotateOAuthKeys(ctx, auth, 'yearly rotation', {});
    expect(storage.signingKeys().keys.map((k) => k.kid)).toEqual([kid, before]);
    const audit = ctx.db.prepare("SELECT action, reason FROM audit_log WHERE action = 'oauth.keys.rotate'").all();
    expect(audit).toEqual([{ action: 'oauth.keys.rotate', reason: 'yearly rotation' }]);
    ctx.db.prepare("UPDATE accounts SET role = 'support'").run();
    const support = { ...auth, account: { ...auth.account, role: 'support' as const } };
    expect(() => rotateOAuthKeys(ctx, support, 'x', {})).toThrow(/only admins/);
  });
});
