import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AcctsecError, Conflict, Forbidden, IdentityRequired, InvalidInput, NotFound } from '../../src/errors.js';
import type { Mailer, OutgoingMail } from '../../src/mail/mailer.js';
import { createUser, recoverWithResetToken } from '../../src/service/admin.js';
import { listAudit } from '../../src/service/audit.js';
import type { ServiceContext } from '../../src/service/context.js';
import {
  adminListApps,
  adminSetAppDisabled,
  createApp,
  deleteApp,
  listMyApps,
  rotateAppSecret,
  showApp,
} from '../../src/service/oauth-apps.js';
import { createOAuthStorage } from '../../src/service/oauth-storage.js';
import { authenticate, type Auth } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { findOAuthApp } from '../../src/store/oauth-apps.js';
import { inspectSecret } from '../../src/token-format.js';
import { MINUTE, PASSWORD, testContext, withAlice } from './context.js';

// Issue #21 "My apps": the OAuth applications developers register, and support's view of them.

const WHY = { reason: 'phishing report 812' };
const OTHER_PASSWORD = 'a plain member passphrase';
const REDIRECT = 'https://printer.example/callback';
const proof = { password: PASSWORD };

async function member(ctx: ServiceContext, admin: Auth, name: string, role = 'user'): Promise<Auth> {
  const made = await createUser(
    ctx,
    admin,
    { username: name, email: `${name}@example.com`, role, printToken: true, ...WHY },
    {},
  );
  await recoverWithResetToken(ctx, { username: name, token: made.resetToken!, newPassword: OTHER_PASSWORD }, {});
  const r = await signIn(ctx, { username: name, password: OTHER_PASSWORD }, {});
  if (r.status !== 'signed-in') throw new Error(r.status);
  return authenticate(ctx, r.session.token);
}

async function world() {
  const notices: OutgoingMail[] = [];
  const mailer: Mailer = {
    send: () => Promise.resolve({ delivered: true } as never),
    notify: (mail) => {
      notices.push(mail);
      return Promise.resolve();
    },
  };
  const ctx = testContext({ mailer });
  const { auth: alice } = await withAlice(ctx);
  const sam = await member(ctx, alice, 'sam', 'support');
  const uma = await member(ctx, alice, 'uma');
  notices.length = 0;
  return { ctx, alice, sam, uma, notices };
}

/** Every table's rows as text: no secret may be anywhere in the database. */
function everything(ctx: ServiceContext): string {
  const tables = ctx.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables
    .map((t) =>
      JSON.stringify(ctx.db.prepare(`SELECT * FROM "${t.name}"`).all(), (_k, v: unknown) =>
        Buffer.isBuffer(v) ? v.toString('latin1') : v,
      ),
    )
    .join('\n');
}

async function rejection(p: Promise<unknown>): Promise<AcctsecError> {
  try {
    await p;
  } catch (e) {
    return e as AcctsecError;
  }
  throw new Error('expected a rejection');
}

/** A grant and two tokens of a client, as the provider stores them (test/service/oauth-grants.test.ts). */
function issueTokens(ctx: ServiceContext, auth: Auth, clientId: string, n: string) {
  const storage = createOAuthStorage(() => ctx);
  const sub = String(auth.account.id);
  const iat = Math.floor(ctx.now() / 1000);
  storage.upsert('Grant', `g${n}`, { accountId: sub, clientId, iat, openid: { scope: 'openid' } }, 86_400);
  storage.upsert('AccessToken', `acsoa_a${n}`, { accountId: sub, clientId, grantId: `g${n}`, iat }, 3600);
  storage.upsert('RefreshToken', `acsoa_r${n}`, { accountId: sub, clientId, grantId: `g${n}`, iat }, 3600);
  return {
    live: () =>
      ['AccessToken', 'RefreshToken', 'Grant'].filter(
        (m) => storage.find(m, m === 'Grant' ? `g${n}` : `acsoa_${m[0]!.toLowerCase()}${n}`) !== undefined,
      ).length,
  };
}

describe('registering an application', () => {
  it('a confidential app: a client id, a secret shown once and kept as its SHA-256, an audit entry and a notice', async () => {
    const { ctx, alice, notices } = await world();
    const app = await createApp(
      ctx,
      alice,
      { name: ' Photo printer ', redirectUris: [REDIRECT, 'http://127.0.0.1:8765/cb', REDIRECT] },
      undefined,
      { ip: '192.0.2.9' },
    );
    expect(app).toMatchObject({
      name: 'Photo printer',
      owner: 'alice',
      public: false,
      redirectUris: [REDIRECT, 'http://127.0.0.1:8765/cb'],
      secretRotatedAt: null,
      disabled: null,
    });
    expect(app.clientId).toMatch(/^app_[0-9A-Za-z]{22}$/);
    expect(app.clientSecret).toMatch(/^acsapp_[0-9A-Za-z]{38}$/);
    expect(inspectSecret(app.clientSecret!)).toEqual({ kind: 'appsecret', valid: true });
    const row = findOAuthApp(ctx.db, app.clientId)!;
    expect(row.secret_hash).toEqual(createHash('sha256').update(app.clientSecret!).digest());
    expect(everything(ctx)).not.toContain(app.clientSecret!.slice(7));
    const entry = listAudit(ctx, { limit: 10 }).find((e) => e.action === 'apps.create')!;
    expect(entry).toMatchObject({ actor: 'alice', target: 'alice', outcome: 'ok' });
    expect(notices).toHaveLength(1);
    expect(notices[0]!.to).toEqual(['alice@example.com']);
    expect(notices[0]!.text.toLowerCase()).toContain(
      `an oauth application "photo printer" (client id ${app.clientId.toLowerCase()}) was registered`,
    );
    expect(JSON.stringify(notices)).not.toContain(app.clientSecret!);
    // Views never carry the secret or its hash.
    for (const v of [showApp(ctx, alice, app.clientId), ...listMyApps(ctx, alice)]) {
      expect(Object.keys(v).sort()).toEqual(
        ['clientId', 'createdAt', 'disabled', 'name', 'owner', 'public', 'redirectUris', 'secretRotatedAt'].sort(),
      );
    }
  });

  it('a public app gets no secret; client ids are unique; the name selects, in any case', async () => {
    const { ctx, alice } = await world();
    const pub = await createApp(
      ctx,
      alice,
      { name: 'Desktop sync', redirectUris: ['http://[::1]:8765/cb', 'http://localhost/cb'], public: true },
      undefined,
      {},
    );
    expect(pub.clientSecret).toBeUndefined();
    expect(findOAuthApp(ctx.db, pub.clientId)!.secret_hash).toBeNull();
    const other = await createApp(ctx, alice, { name: 'Other', redirectUris: [REDIRECT] }, undefined, {});
    expect(other.clientId).not.toBe(pub.clientId);
    expect(showApp(ctx, alice, 'DESKTOP SYNC').clientId).toBe(pub.clientId);
    expect(listMyApps(ctx, alice).map((a) => a.name)).toEqual(['Other', 'Desktop sync']);
    await expect(
      createApp(ctx, alice, { name: 'desktop sync', redirectUris: [REDIRECT] }, undefined, {}),
    ).rejects.toBeInstanceOf(Conflict);
  });

  it('refuses bad names and redirect URIs with a one-line message naming the value', async () => {
    const { ctx, alice } = await world();
    const bad: [string, string[], RegExp][] = [
      ['', [REDIRECT], /invalid application name ""/],
      ['x'.repeat(65), [REDIRECT], /1 to 64 printable/],
      ['tab\there', [REDIRECT], /invalid application name "tab\\there"/],
      ['ok', [], /at least one --redirect-uri/],
      ['ok', Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`), /at most 10 redirect URIs/],
      ['ok', ['printer/cb'], /"printer\/cb": not an absolute URL/],
      ['ok', ['https://a.example/cb#frag'], /"https:\/\/a.example\/cb#frag": .*fragment/],
      ['ok', ['https://a.example/cb#'], /fragment/],
      ['ok', ['https://user:pw@a.example/cb'], /user name or password/],
      ['ok', ['https://user@a.example/cb'], /user name or password/],
      ['ok', ['http://a.example/cb'], /"http:\/\/a.example\/cb": http is allowed only to this machine/],
      ['ok', ['http://127.0.0.2/cb'], /http is allowed only/],
      ['ok', ['http://localhost.evil.example/cb'], /http is allowed only/],
      ['ok', ['com.example.app:/cb'], /use https/],
      ['ok', ['javascript:alert(1)'], /use https/],
      ['ok', [' https://a.example/cb'], /no spaces/],
      ['ok', ['https://a.exa\tmple/cb'], /no spaces/],
    ];
    for (const [name, redirectUris, message] of bad) {
      const e = await rejection(createApp(ctx, alice, { name, redirectUris }, proof, {}));
      expect(e, `${name} ${redirectUris.join(' ')}`).toBeInstanceOf(InvalidInput);
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('\n');
    }
    expect(listMyApps(ctx, alice)).toEqual([]);
    const ok = await createApp(
      ctx,
      alice,
      { name: 'Café ☕ 64', redirectUris: ['https://x.example:8443/a?b=c'] },
      proof,
      {},
    );
    expect(ok.name).toBe('Café ☕ 64');
  });

  it('needs identity confirmation once the sign-in is older than the sudo window', async () => {
    const { ctx, alice } = await world();
    ctx.clock.advance(11 * MINUTE);
    await expect(
      createApp(ctx, alice, { name: 'Late', redirectUris: [REDIRECT] }, undefined, {}),
    ).rejects.toBeInstanceOf(IdentityRequired);
    await expect(
      createApp(ctx, alice, { name: 'Late', redirectUris: [REDIRECT] }, { password: 'wrong' }, {}),
    ).rejects.toThrow(/wrong password/);
    expect(listMyApps(ctx, alice)).toEqual([]);
    await createApp(ctx, alice, { name: 'Late', redirectUris: [REDIRECT] }, proof, {});
  });
});

describe("an app's owner", () => {
  it('is the only one who sees, rotates or deletes it: to anyone else it does not exist', async () => {
    const { ctx, alice, uma } = await world();
    const app = await createApp(ctx, alice, { name: 'Calendar', redirectUris: [REDIRECT] }, undefined, {});
    expect(listMyApps(ctx, uma)).toEqual([]);
    const hidden = (() => {
      try {
        showApp(ctx, uma, app.clientId);
      } catch (e) {
        return e as AcctsecError;
      }
      return undefined;
    })();
    expect(hidden).toBeInstanceOf(NotFound);
    expect(hidden!.exitCode).toBe(4);
    expect(() => showApp(ctx, uma, 'Calendar')).toThrow(NotFound);
    await expect(rotateAppSecret(ctx, uma, app.clientId, { password: OTHER_PASSWORD }, {})).rejects.toBeInstanceOf(
      NotFound,
    );
    await expect(deleteApp(ctx, uma, app.clientId, { password: OTHER_PASSWORD }, {})).rejects.toBeInstanceOf(NotFound);
    expect(showApp(ctx, alice, app.clientId).name).toBe('Calendar');
  });

  it('rotating the secret: the old one stops matching, every token of the app is removed, others stay', async () => {
    const { ctx, alice, notices } = await world();
    const app = await createApp(ctx, alice, { name: 'Printer', redirectUris: [REDIRECT] }, undefined, {});
    const other = await createApp(ctx, alice, { name: 'Calendar', redirectUris: [REDIRECT] }, undefined, {});
    const mine = issueTokens(ctx, alice, app.clientId, '1');
    const theirs = issueTokens(ctx, alice, other.clientId, '2');
    expect(mine.live()).toBe(3);
    ctx.clock.advance(11 * MINUTE);
    await expect(rotateAppSecret(ctx, alice, 'Printer', undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    expect(mine.live()).toBe(3);
    const rotated = await rotateAppSecret(ctx, alice, 'printer', proof, {});
    expect(rotated.clientSecret).toMatch(/^acsapp_/);
    expect(rotated.clientSecret).not.toBe(app.clientSecret);
    expect(rotated.secretRotatedAt).toBe(new Date(ctx.now()).toISOString());
    const hash = findOAuthApp(ctx.db, app.clientId)!.secret_hash!;
    expect(hash).toEqual(createHash('sha256').update(rotated.clientSecret!).digest());
    expect(hash).not.toEqual(createHash('sha256').update(app.clientSecret!).digest());
    expect(mine.live()).toBe(0);
    expect(theirs.live()).toBe(3);
    expect(everything(ctx)).not.toContain(rotated.clientSecret!.slice(7));
    expect(notices.at(-1)!.text).toMatch(/client secret of the OAuth application "Printer".* was replaced/);
    expect(JSON.stringify(notices)).not.toMatch(/acsapp_/);
    expect(listAudit(ctx, { limit: 10 }).map((e) => e.action)).toContain('apps.rotate-secret');
  });

  it('a public app has no secret to rotate', async () => {
    const { ctx, alice } = await world();
    await createApp(ctx, alice, { name: 'CLI', redirectUris: ['http://127.0.0.1/cb'], public: true }, undefined, {});
    await expect(rotateAppSecret(ctx, alice, 'CLI', proof, {})).rejects.toThrow(/public application: it has no secret/);
  });

  it('deleting: gone from every list, its tokens removed, its client id refused afterwards', async () => {
    const { ctx, alice, sam, notices } = await world();
    const app = await createApp(ctx, alice, { name: 'Printer', redirectUris: [REDIRECT] }, undefined, {});
    const tokens = issueTokens(ctx, alice, app.clientId, '1');
    ctx.clock.advance(11 * MINUTE);
    await expect(deleteApp(ctx, alice, 'Printer', undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    const gone = await deleteApp(ctx, alice, 'Printer', proof, {});
    expect(gone.clientId).toBe(app.clientId);
    expect(tokens.live()).toBe(0);
    expect(listMyApps(ctx, alice)).toEqual([]);
    expect(adminListApps(ctx, sam, {})).toEqual([]);
    expect(() => showApp(ctx, alice, app.clientId)).toThrow(NotFound);
    expect(findOAuthApp(ctx.db, app.clientId)!.secret_hash).toBeNull();
    await expect(adminSetAppDisabled(ctx, sam, app.clientId, true, WHY, {})).rejects.toBeInstanceOf(NotFound);
    expect(notices.at(-1)!.text).toContain('"Printer"');
    expect(listAudit(ctx, { limit: 10 }).map((e) => e.action)).toContain('apps.delete');
  });
});

describe('support and admins', () => {
  it('list every app with its owner; a plain user is refused and the refusal audited', async () => {
    const { ctx, alice, sam, uma } = await world();
    await createApp(ctx, alice, { name: 'Printer', redirectUris: [REDIRECT] }, undefined, {});
    expect(adminListApps(ctx, sam, {}).map((a) => [a.name, a.owner])).toEqual([['Printer', 'alice']]);
    expect(adminListApps(ctx, alice, {})).toHaveLength(1);
    expect(() => adminListApps(ctx, uma, {})).toThrow(Forbidden);
    expect(listAudit(ctx, { limit: 5 })[0]).toMatchObject({ actor: 'uma', action: 'apps.list', outcome: 'refused' });
  });

  it('disable (reason required, tokens removed, owner told, audited) and enable again', async () => {
    const { ctx, alice, sam, uma, notices } = await world();
    const app = await createApp(ctx, uma, { name: 'Quiz', redirectUris: [REDIRECT] }, undefined, {});
    const tokens = issueTokens(ctx, uma, app.clientId, '1');
    notices.length = 0;
    await expect(adminSetAppDisabled(ctx, uma, app.clientId, true, WHY, {})).rejects.toBeInstanceOf(Forbidden);
    await expect(adminSetAppDisabled(ctx, sam, app.clientId, true, { reason: ' ' }, {})).rejects.toThrow(/--reason/);
    await expect(adminSetAppDisabled(ctx, sam, 'app_nope', true, WHY, {})).rejects.toBeInstanceOf(NotFound);
    expect(tokens.live()).toBe(3);
    const off = await adminSetAppDisabled(ctx, sam, app.clientId, true, WHY, { ip: '192.0.2.4' });
    expect(off.disabled).toEqual({ at: new Date(ctx.now()).toISOString(), by: 'sam', reason: WHY.reason });
    expect(tokens.live()).toBe(0);
    expect(showApp(ctx, uma, 'Quiz').disabled).toMatchObject({ by: 'sam' });
    await expect(adminSetAppDisabled(ctx, sam, app.clientId, true, WHY, {})).rejects.toBeInstanceOf(Conflict);
    expect(notices.map((n) => n.to[0])).toEqual(['uma@example.com']);
    expect(notices[0]!.text).toMatch(/"Quiz" .* was disabled by sam.*phishing report 812/);
    const on = await adminSetAppDisabled(ctx, alice, app.clientId, false, WHY, {});
    expect(on.disabled).toBeNull();
    const audit = listAudit(ctx, { limit: 10 }).filter((e) => e.action.startsWith('apps.'));
    expect(audit.map((e) => `${e.actor} ${e.action} ${e.target} ${e.outcome}`)).toEqual(
      expect.arrayContaining(['uma apps.disable null refused', 'sam apps.disable uma ok', 'alice apps.enable uma ok']),
    );
    expect(audit.find((e) => e.action === 'apps.disable' && e.outcome === 'ok')!.reason).toBe(WHY.reason);
  });

  it("support may not disable an admin's app; an admin may", async () => {
    const { ctx, alice, sam } = await world();
    const app = await createApp(ctx, alice, { name: 'Admin tool', redirectUris: [REDIRECT] }, undefined, {});
    await expect(adminSetAppDisabled(ctx, sam, app.clientId, true, WHY, {})).rejects.toThrow(/user accounts only/);
    expect((await adminSetAppDisabled(ctx, alice, app.clientId, true, WHY, {})).disabled).not.toBeNull();
  });
});
