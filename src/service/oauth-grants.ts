import { Forbidden, InvalidInput, NotFound } from '../errors.js';
import { listAllOAuthApps } from '../store/oauth-apps.js';
import { oauthRowsOfAccount, revokeOAuthAccountClient } from '../store/oauth-payloads.js';
import { recordActivity } from './activity.js';
import { appendAudit } from './audit.js';
import type { Auth, RequestOrigin, ServiceContext } from './context.js';
import { databaseKey } from './encryption.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { openOAuthPayload } from './oauth-payload.js';
import { addSigningKey } from './oauth-storage.js';

// What a person allowed applications to do (issue #21): `apps authorized` lists each application
// with its scopes and when it was first allowed and last given a token; `apps revoke` ends the grant
// and every token issued under it at once (the provider finds nothing under them afterwards). And the
// operator's rotation of the ID-token signing key.

export interface AuthorizedApp {
  clientId: string;
  name: string;
  owner: string;
  scopes: string[];
  firstAuthorizedAt: string;
  lastUsedAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function authorizedApps(ctx: ServiceContext, auth: Auth): AuthorizedApp[] {
  const key = databaseKey(ctx.db, ctx.keyring);
  const now = ctx.now();
  const byClient = new Map<string, { scopes: Set<string>; first: number; last: number }>();
  for (const row of oauthRowsOfAccount(ctx.db, auth.account.id)) {
    if (row.expires_at !== null && row.expires_at <= now) continue;
    if (row.model !== 'Grant' && row.model !== 'AccessToken' && row.model !== 'RefreshToken') continue;
    const payload = openOAuthPayload(ctx, row, key) as { iat?: number; openid?: { scope?: string }; scope?: string };
    const at = (payload.iat ?? 0) * 1000;
    const entry = byClient.get(row.client_id!) ?? { scopes: new Set<string>(), first: at, last: at };
    if (row.model === 'Grant') {
      for (const s of (payload.openid?.scope ?? '').split(' ').filter(Boolean)) entry.scopes.add(s);
      entry.first = Math.min(entry.first, at);
    }
    entry.last = Math.max(entry.last, at);
    byClient.set(row.client_id!, entry);
  }
  const apps = new Map(listAllOAuthApps(ctx.db).map((a) => [a.client_id, a]));
  return [...byClient]
    .filter(([clientId]) => apps.has(clientId))
    .map(([clientId, e]) => ({
      clientId,
      name: apps.get(clientId)!.name,
      owner: apps.get(clientId)!.owner,
      scopes: [...e.scopes].sort(),
      firstAuthorizedAt: iso(e.first),
      lastUsedAt: iso(e.last),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `apps revoke <app>`: by client id or by name among the apps this account allowed. */
export function revokeAuthorizedApp(
  ctx: ServiceContext,
  auth: Auth,
  ref: string,
  origin: RequestOrigin,
): { clientId: string; name: string; removed: number } {
  const allowed = authorizedApps(ctx, auth);
  const matches = allowed.filter((a) => a.clientId === ref || a.name.toLowerCase() === ref.toLowerCase());
  if (matches.length > 1)
    throw new InvalidInput(`more than one authorized application is named "${ref}": use its client id`, 'app');
  const app = matches[0];
  if (!app)
    throw new NotFound(`no application "${ref}" is authorized on your account (see \`acctsec apps authorized\`)`);
  const removed = ctx.db.transaction(() => {
    const n = revokeOAuthAccountClient(ctx.db, auth.account.id, app.clientId);
    recordActivity(ctx, auth.account.id, 'oauth.revoked', {
      origin,
      sessionId: auth.session.id,
      detail: { clientId: app.clientId, app: app.name },
    });
    return n;
  })();
  const account = auth.account;
  ctx.background.run('mail: application revoked notice', () =>
    notifySecurity(
      ctx,
      account,
      securityNotice(ctx, account, `the application "${app.name}" lost its access to your account`, origin),
    ),
  );
  return { clientId: app.clientId, name: app.name, removed };
}

/** `admin oauth keys rotate`: a new signing key; JWKS lists it and the one before. */
export function rotateOAuthKeys(
  ctx: ServiceContext,
  auth: Auth,
  reason: string,
  origin: RequestOrigin,
): { kid: string } {
  if (auth.account.role !== 'admin') throw new Forbidden('only admins may rotate the signing keys');
  return ctx.db.transaction(() => {
    const kid = addSigningKey(ctx);
    appendAudit(ctx, {
      actor: auth.account.username,
      target: null,
      action: 'oauth.keys.rotate',
      reason,
      outcome: 'ok',
      ip: origin.ip ?? null,
      detail: { kid },
    });
    return { kid };
  })();
}
