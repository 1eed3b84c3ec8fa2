import { randomInt } from 'node:crypto';
import { Conflict, InvalidInput, NotFound } from '../errors.js';
import type { AdminActionInput, AppCreateInput, IdentityProof } from '../schemas.js';
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
import { authorize, validReason } from './admin.js';
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

const MAX_REDIRECT_URIS = 10;
/** Control, format, private-use and surrogate characters, and line or paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/u;

export function validAppName(raw: string): string {
  const name = raw.trim();
  const length = [...name].length;
  if (length < 1 || length > 64 || UNPRINTABLE.test(name))
    throw new InvalidInput(
      `invalid application name ${JSON.stringify(raw.slice(0, 100))}: use 1 to 64 printable characters`,
      '--name',
    );
  return name;
}

/**
 * RFC 6749 §3.1.2 and RFC 8252 §7.3, §8.3: absolute, no fragment, no user name or password; https
 * anywhere, or http only to this machine (127.0.0.1, [::1], localhost), for native apps.
 */
export function validRedirectUri(text: string): string {
  const bad = (why: string) =>
    new InvalidInput(`invalid redirect URI ${JSON.stringify(text.slice(0, 200))}: ${why}`, '--redirect-uri');
  // The URL parser would drop tabs and line breaks and trim spaces: the stored text is compared exactly.
  if (/[\s\p{Cc}]/u.test(text)) throw bad('a redirect URI has no spaces or control characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('not an absolute URL');
  }
  if (url.hash || text.includes('#')) throw bad('a redirect URI has no fragment (#...)');
  if (url.username || url.password || /^[a-z][a-z0-9+.-]*:\/\/[^/?]*@/i.test(text))
    throw bad('a redirect URI carries no user name or password');
  if (url.protocol === 'http:') {
    if (!LOOPBACK_HOSTS.has(url.hostname))
      throw bad('http is allowed only to this machine (127.0.0.1, [::1] or localhost); use https');
  } else if (url.protocol !== 'https:') throw bad(`use https (or http to this machine), not ${url.protocol}`);
  return text;
}

function validRedirectUris(uris: readonly string[]): string[] {
  if (uris.length === 0) throw new InvalidInput('an application needs at least one --redirect-uri', '--redirect-uri');
  if (uris.length > MAX_REDIRECT_URIS)
    throw new InvalidInput(
      `an application has at most ${MAX_REDIRECT_URIS} redirect URIs (${uris.length} given)`,
      '--redirect-uri',
    );
  return [...new Set(uris.map(validRedirectUri))];
}

/** An owner's change, in the audit log as in their activity. Never a secret: ids, names and URIs. */
function record(
  ctx: ServiceContext,
  auth: Auth,
  [event, action]: [string, string],
  origin: RequestOrigin,
  detail: Record<string, unknown>,
): void {
  recordActivity(ctx, auth.account.id, event, { origin, sessionId: auth.session.id, detail });
  appendAudit(ctx, {
    actor: auth.account.username,
    target: auth.account.username,
    action,
    reason: '-',
    outcome: 'ok',
    ip: origin.ip ?? null,
    detail,
  });
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
    throw new InvalidInput(
      `more than one of your applications is named ${JSON.stringify(ref.slice(0, 100))}: use its client id`,
      'app',
    );
  if (!byName[0])
    throw new NotFound(`you have no application ${JSON.stringify(ref.slice(0, 100))} (see \`acctsec apps list\`)`);
  return byName[0];
}

export async function createApp(
  ctx: ServiceContext,
  auth: Auth,
  input: AppCreateInput,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<AppCreated> {
  const name = validAppName(input.name);
  const redirectUris = validRedirectUris(input.redirectUris);
  const isPublic = input.public === true;
  const vacancy = () => {
    const mine = listOwnOAuthApps(ctx.db, auth.account.id);
    if (mine.some((a) => a.name.toLowerCase() === name.toLowerCase()))
      throw new Conflict(`you have an application named "${name}" already; choose another name`);
    if (mine.length >= MAX_APPS_PER_ACCOUNT)
      throw new Conflict(`you have ${MAX_APPS_PER_ACCOUNT} applications, the most one account may register`);
  };
  vacancy();
  await confirmIdentity(ctx, auth, proof, origin);
  // A public client cannot keep a secret, so it never gets one (RFC 6749 §2.1).
  const secret = isPublic ? undefined : newSecret('appsecret');
  const row = ctx.db
    .transaction(() => {
      vacancy(); // again inside the write lock: two concurrent registrations make one app of a name
      const clientId = newClientId();
      insertOAuthApp(ctx.db, {
        client_id: clientId,
        owner_account_id: auth.account.id,
        name,
        redirect_uris: JSON.stringify(redirectUris),
        public: isPublic ? 1 : 0,
        secret_hash: secret === undefined ? null : hashSecret(secret),
        created_at: ctx.now(),
      });
      record(ctx, auth, ['app.created', 'apps.create'], origin, { clientId, name, public: isPublic, redirectUris });
      return findOAuthApp(ctx.db, clientId)!;
    })
    .immediate();
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(
      ctx,
      auth.account,
      `an OAuth application "${name}" (client id ${row.client_id}) was registered`,
      origin,
    ),
  );
  return { ...view(ctx, row, auth.account.username), ...(secret === undefined ? {} : { clientSecret: secret }) };
}

export function listMyApps(ctx: ServiceContext, auth: Auth): AppView[] {
  return listOwnOAuthApps(ctx.db, auth.account.id).map((r) => view(ctx, r, auth.account.username));
}

/** One of the caller's apps; another account's app is "not found", as one that does not exist. */
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
  if (app.public === 1)
    throw new InvalidInput(`"${app.name}" is a public application: it has no secret to rotate`, 'app');
  await confirmIdentity(ctx, auth, proof, origin);
  const secret = newSecret('appsecret');
  const removed = ctx.db
    .transaction(() => {
      const now = findOAuthApp(ctx.db, app.client_id);
      if (!now || now.deleted_at !== null) throw new NotFound(`the application "${app.name}" was deleted meanwhile`);
      setOAuthAppSecret(ctx.db, app.id, hashSecret(secret), ctx.now());
      const n = deleteOAuthPayloadsOfClient(ctx.db, app.client_id);
      record(ctx, auth, ['app.secret_rotated', 'apps.rotate-secret'], origin, {
        clientId: app.client_id,
        name: app.name,
        tokensRemoved: n,
      });
      return n;
    })
    .immediate();
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(
      ctx,
      auth.account,
      `the client secret of the OAuth application "${app.name}" (client id ${app.client_id}) was replaced${removed ? `, and the ${removed} tokens and grants issued to it were revoked` : ''}`,
      origin,
    ),
  );
  return { ...view(ctx, findOAuthApp(ctx.db, app.client_id)!, auth.account.username), clientSecret: secret };
}

/** Gone from every list; its client id is never handed out again; every token issued to it removed. */
export async function deleteApp(
  ctx: ServiceContext,
  auth: Auth,
  ref: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<AppView> {
  const app = ownApp(ctx, auth, ref);
  await confirmIdentity(ctx, auth, proof, origin);
  ctx.db
    .transaction(() => {
      if (!deleteOAuthApp(ctx.db, app.id, ctx.now()))
        throw new NotFound(`the application "${app.name}" was deleted meanwhile`);
      const n = deleteOAuthPayloadsOfClient(ctx.db, app.client_id);
      record(ctx, auth, ['app.deleted', 'apps.delete'], origin, {
        clientId: app.client_id,
        name: app.name,
        tokensRemoved: n,
      });
    })
    .immediate();
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(
      ctx,
      auth.account,
      `the OAuth application "${app.name}" (client id ${app.client_id}) was deleted`,
      origin,
    ),
  );
  return view(ctx, app, auth.account.username);
}

/** Every registered application with its owner: support and admins (a plain user's try is audited). */
export function adminListApps(ctx: ServiceContext, auth: Auth, origin: RequestOrigin): AppView[] {
  authorize(ctx, auth, 'apps.list', null, '', origin);
  return listAllOAuthApps(ctx.db).map((r) => view(ctx, r, r.owner));
}

/**
 * Support turns an app off (no new tokens, and the issued ones removed at once) or on again. A reason
 * is required and audited; the owner is told. Support may act on apps of user accounts only.
 */
export async function adminSetAppDisabled(
  ctx: ServiceContext,
  auth: Auth,
  clientId: string,
  disabled: boolean,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AppView> {
  const action = disabled ? 'apps.disable' : 'apps.enable';
  const reason = validReason(input.reason);
  // A plain user is refused before anything is looked up: no probing which client ids exist.
  authorize(ctx, auth, action, null, reason, origin);
  const app = findOAuthApp(ctx.db, clientId);
  if (!app || app.deleted_at !== null)
    throw new NotFound(`no application with client id ${JSON.stringify(clientId.slice(0, 100))}`);
  const owner = findAccountById(ctx.db, app.owner_account_id)!;
  authorize(ctx, auth, action, owner, reason, origin);
  if ((app.disabled_at !== null) === disabled)
    throw new Conflict(
      `the application "${app.name}" (${app.client_id}) is ${disabled ? 'disabled' : 'enabled'} already`,
    );
  ctx.db
    .transaction(() => {
      setOAuthAppDisabled(ctx.db, app.id, disabled ? { at: ctx.now(), by: auth.account.username, reason } : null);
      const n = disabled ? deleteOAuthPayloadsOfClient(ctx.db, app.client_id) : 0;
      recordActivity(ctx, owner.id, disabled ? 'app.disabled' : 'app.enabled', {
        origin,
        detail: { clientId: app.client_id, name: app.name, by: auth.account.username },
      });
      appendAudit(ctx, {
        actor: auth.account.username,
        target: owner.username,
        action,
        reason,
        outcome: 'ok',
        ip: origin.ip ?? null,
        detail: { clientId: app.client_id, name: app.name, ...(disabled ? { tokensRemoved: n } : {}) },
      });
    })
    .immediate();
  // SPEC §9: every admin action notifies the account owner.
  await notifySecurity(
    ctx,
    owner,
    securityNotice(
      ctx,
      owner,
      disabled
        ? `your OAuth application "${app.name}" (client id ${app.client_id}) was disabled by ${auth.account.username}: it gets no tokens and the ones issued to it were revoked (reason: ${reason})`
        : `your OAuth application "${app.name}" (client id ${app.client_id}) was enabled again by ${auth.account.username} (reason: ${reason})`,
      origin,
    ),
  );
  return view(ctx, findOAuthApp(ctx.db, app.client_id)!, owner.username);
}
