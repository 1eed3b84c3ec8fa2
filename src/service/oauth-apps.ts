import { randomInt } from 'node:crypto';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../errors.js';
import type { AppCreateInput, IdentityProof } from '../schemas.js';
import { findAccountById } from '../store/accounts.js';
import {
  deleteOAuthApp,
  deleteOAuthPayloadsOfClient,
  findOAuthApp,
  insertOAuthApp,
  listAllOAuthApps,
  listOwnOAuthApps,
  setOAuthAppDisabled,
  setOAuthAppSecret,
  type OAuthAppRow,
} from '../store/oauth-apps.js';
import { newSecret } from '../token-format.js';
import type { AppCreated, AppView } from '../views.js';
import { recordActivity } from './activity.js';
import { appendAudit } from './audit.js';
import type { Auth, RequestOrigin, ServiceContext } from './context.js';
import { confirmIdentity } from './identity.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { hashSecret } from './tokens.js';

// "My apps" (issue #21): the OAuth applications a developer registers. A confidential app gets a
// client secret shown once and kept as its SHA-256; a public one (a desktop or mobile app, which
// cannot keep a secret) gets none and must use PKCE. Deleting an app (its owner) or disabling it
// (support) removes every code and token issued to it at once.

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const MAX_APPS_PER_ACCOUNT = 50;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function newClientId(): string {
  let id = 'app_';
  for (let i = 0; i < 22; i++) id += BASE62[randomInt(62)];
  return id;
}

function validName(name: string): string {
  const n = name.trim();
  if (n.length < 1 || n.length > 64 || /[\p{Cc}\p{Cf}]/u.test(n))
    throw new InvalidInput(`invalid application name "${name.slice(0, 80)}": 1 to 64 printable characters`, '--name');
  return n;
}

/** RFC 6749 §3.1.2 and RFC 8252 §7.3: absolute, no fragment; https, or http only to this machine. */
export function validRedirectUri(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInput(`invalid redirect URI "${text.slice(0, 200)}": not an absolute URL`, '--redirect-uri');
  }
  const bad = (why: string) =>
    new InvalidInput(`invalid redirect URI "${text.slice(0, 200)}": ${why}`, '--redirect-uri');
  if (url.hash || text.includes('#')) throw bad('a redirect URI has no fragment');
  if (url.username || url.password) throw bad('a redirect URI carries no user name or password');
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname))
    throw bad('http is allowed only to this machine (127.0.0.1, [::1], localhost); use https');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('use https (or http to this machine)');
  return text;
}

function view(ctx: ServiceContext, row: OAuthAppRow, owner?: string): AppView {
  return {
    clientId: row.client_id,
    name: row.name,
    owner: owner ?? findAccountById(ctx.db, row.owner_account_id)?.username ?? '?',
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    public: row.public === 1,
    createdAt: new Date(row.created_at).toISOString(),
    secretRotatedAt: row.secret_rotated_at === null ? null : new Date(row.secret_rotated_at).toISOString(),
    disabled:
      row.disabled_at === null
        ? null
        : {
            at: new Date(row.disabled_at).toISOString(),
            by: row.disabled_by ?? '?',
            reason: row.disabled_reason ?? '',
          },
  };
}

/** One of this account's apps, by client id or name. */
function ownApp(ctx: ServiceContext, auth: Auth, ref: string): OAuthAppRow {
  const mine = listOwnOAuthApps(ctx.db, auth.account.id);
  const byId = mine.find((a) => a.client_id === ref);
  if (byId) return byId;
  const byName = mine.filter((a) => a.name.toLowerCase() === ref.trim().toLowerCase());
  if (byName.length > 1)
    throw new InvalidInput(`more than one of your applications is named "${ref}": use its client id`, 'app');
  if (!byName[0]) throw new NotFound(`you have no application "${ref.slice(0, 100)}" (see \`acctsec apps list\`)`);
  return byName[0];
}

export async function createApp(
  ctx: ServiceContext,
  auth: Auth,
  input: AppCreateInput,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<AppCreated> {
  const name = validName(input.name);
  if (input.redirectUris.length === 0)
    throw new InvalidInput('an application needs at least one --redirect-uri', '--redirect-uri');
  const redirectUris = [...new Set(input.redirectUris.map(validRedirectUri))];
  const isPublic = input.public === true;
  if (listOwnOAuthApps(ctx.db, auth.account.id).length >= MAX_APPS_PER_ACCOUNT)
    throw new Conflict(`you have ${MAX_APPS_PER_ACCOUNT} applications, the most one account may register`);
  await confirmIdentity(ctx, auth, proof, origin);
  const secret = isPublic ? undefined : newSecret('appsecret');
  const row = ctx.db.transaction(() => {
    const clientId = newClientId();
    insertOAuthApp(ctx.db, {
      client_id: clientId,
      owner_account_id: auth.account.id,
      name,
      redirect_uris: JSON.stringify(redirectUris),
      public: isPublic ? 1 : 0,
      secret_hash: secret ? hashSecret(secret) : null,
      created_at: ctx.now(),
    });
    recordActivity(ctx, auth.account.id, 'app.created', {
      origin,
      sessionId: auth.session.id,
      detail: { clientId, name, public: isPublic },
    });
    return findOAuthApp(ctx.db, clientId)!;
  })();
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(
      ctx,
      auth.account,
      `an OAuth application "${name}" (client ${row.client_id}) was registered`,
      origin,
    ),
  );
  return { ...view(ctx, row, auth.account.username), ...(secret ? { clientSecret: secret } : {}) };
}

export function listMyApps(ctx: ServiceContext, auth: Auth): AppView[] {
  return listOwnOAuthApps(ctx.db, auth.account.id).map((r) => view(ctx, r, auth.account.username));
}

export function showApp(ctx: ServiceContext, auth: Auth, ref: string): AppView {
  return view(ctx, ownApp(ctx, auth, ref), auth.account.username);
}

/** A new secret; the old one stops working at once, and so does every token issued to the app. */
export async function rotateAppSecret(
  ctx: ServiceContext,
  auth: Auth,
  ref: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<AppCreated> {
  const app = ownApp(ctx, auth, ref);
  if (app.public === 1) throw new InvalidInput(`"${app.name}" is a public application: it has no secret`, 'app');
  await confirmIdentity(ctx, auth, proof, origin);
  const secret = newSecret('appsecret');
  ctx.db.transaction(() => {
    setOAuthAppSecret(ctx.db, app.id, hashSecret(secret), ctx.now());
    deleteOAuthPayloadsOfClient(ctx.db, app.client_id);
    recordActivity(ctx, auth.account.id, 'app.secret_rotated', {
      origin,
      sessionId: auth.session.id,
      detail: { clientId: app.client_id },
    });
  })();
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(ctx, auth.account, `the secret of the OAuth application "${app.name}" was replaced`, origin),
  );
  return { ...view(ctx, findOAuthApp(ctx.db, app.client_id)!, auth.account.username), clientSecret: secret };
}

export async function deleteApp(
  ctx: ServiceContext,
  auth: Auth,
  ref: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<AppView> {
  const app = ownApp(ctx, auth, ref);
  await confirmIdentity(ctx, auth, proof, origin);
  ctx.db.transaction(() => {
    deleteOAuthApp(ctx.db, app.id, ctx.now());
    deleteOAuthPayloadsOfClient(ctx.db, app.client_id);
    recordActivity(ctx, auth.account.id, 'app.deleted', {
      origin,
      sessionId: auth.session.id,
      detail: { clientId: app.client_id, name: app.name },
    });
  })();
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(ctx, auth.account, `the OAuth application "${app.name}" was deleted`, origin),
  );
  return view(ctx, app, auth.account.username);
}

function requireStaff(auth: Auth): void {
  if (auth.account.role !== 'admin' && auth.account.role !== 'support')
    throw new Forbidden('only support and admins may manage every application');
}

export function adminListApps(ctx: ServiceContext, auth: Auth): AppView[] {
  requireStaff(auth);
  return listAllOAuthApps(ctx.db).map((r) => view(ctx, r, r.owner));
}

/** Support turns an app off (no new tokens, the issued ones gone) or back on; audited; the owner told. */
export async function adminSetAppDisabled(
  ctx: ServiceContext,
  auth: Auth,
  clientId: string,
  disabled: boolean,
  reason: string,
  origin: RequestOrigin,
): Promise<AppView> {
  requireStaff(auth);
  const why = reason.trim();
  if (!why) throw new InvalidInput('--reason is required: say why, for the audit log', '--reason');
  const app = findOAuthApp(ctx.db, clientId);
  if (!app || app.deleted_at !== null) throw new NotFound(`no application with client id "${clientId.slice(0, 100)}"`);
  if ((app.disabled_at !== null) === disabled)
    throw new Conflict(`"${app.name}" is already ${disabled ? 'disabled' : 'enabled'}`);
  ctx.db.transaction(() => {
    setOAuthAppDisabled(ctx.db, app.id, disabled ? { at: ctx.now(), by: auth.account.username, reason: why } : null);
    if (disabled) deleteOAuthPayloadsOfClient(ctx.db, app.client_id);
    appendAudit(ctx, {
      actor: auth.account.username,
      target: findAccountById(ctx.db, app.owner_account_id)?.username ?? null,
      action: disabled ? 'app.disable' : 'app.enable',
      reason: why,
      outcome: 'ok',
      ip: origin.ip ?? null,
      detail: { clientId: app.client_id, name: app.name },
    });
  })();
  const owner = findAccountById(ctx.db, app.owner_account_id);
  if (owner)
    await notifySecurity(
      ctx,
      owner,
      securityNotice(
        ctx,
        owner,
        `support ${disabled ? 'disabled' : 'enabled'} your OAuth application "${app.name}" (reason: ${why})`,
        origin,
      ),
    );
  return view(ctx, findOAuthApp(ctx.db, app.client_id)!);
}
