import { createHash, generateKeyPairSync } from 'node:crypto';
import { CLI_CLIENT_ID } from '../oauth-types.js';
import type { OAuthAccount, OAuthClientRecord, OAuthJwk, OAuthPayload, OAuthStorage } from '../oauth-types.js';
import { findAccountById } from '../store/accounts.js';
import { findOAuthApp } from '../store/oauth-apps.js';
import {
  consumeOAuthPayload,
  destroyOAuthPayload,
  findOAuthPayload,
  findOAuthPayloadByUid,
  findOAuthPayloadByUserCode,
  insertOAuthKey,
  oauthKeysVersion,
  publishedOAuthKeys,
  pruneOAuthPayloads,
  PRUNE_BATCH,
  retireOldOAuthKeys,
  revokeOAuthGrant,
  upsertOAuthPayload,
  type OAuthPayloadRow,
} from '../store/oauth-payloads.js';
import { recordActivity } from './activity.js';
import { openOAuthPayload } from './oauth-payload.js';
import { noticeNewSignInSource } from './known-sign-ins.js';
import type { ServiceContext } from './context.js';
import { isAllowed, isAllowedById } from './ip-networks.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { authenticate, createSession } from './sessions.js';
import { databaseKey, open, seal } from './encryption.js';

// The store under the OAuth 2.0 / OpenID Connect provider (issue #21): oidc-provider's adapter
// contract over the oauth_payloads table, the registered applications as clients, and the keys that
// sign ID tokens.
//
// - A row is keyed by the SHA-256 of its id: an access or refresh token's id is the token itself, and
//   the database never holds one that works. The user code of a device login is kept hashed too.
// - Payloads are sealed with the database key (AES-256-GCM), bound to their model and hashed id.
// - Consuming a code is one conditional UPDATE: of two requests racing with one authorization code,
//   one wins (the provider then refuses the other and revokes the grant).
// - Signing keys (RSA 2048, RS256: the algorithm every OpenID client must accept) are sealed the same
//   way; the newest signs and JWKS publishes it with the one before, so tokens signed before a
//   rotation still verify until they expire.

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The models whose id is a credential (a bearer token, a code) and that the provider only ever looks
 * up by that id: their sealed payload leaves the id out (even with the database key, a copy of the
 * database holds no token that works); reading one puts back the id it was asked for.
 */
const BY_ID_ONLY = new Set(['AccessToken', 'RefreshToken', 'ClientCredentials', 'AuthorizationCode']);

function nestedAccountId(payload: OAuthPayload): string | null {
  const result = payload.result as { login?: { accountId?: unknown } } | undefined;
  const session = payload.session as { accountId?: unknown } | undefined;
  const id = result?.login?.accountId ?? session?.accountId;
  return typeof id === 'string' ? id : null;
}

function withoutId(payload: OAuthPayload): OAuthPayload {
  const { jti: _jti, ...rest } = payload;
  return rest;
}

/** How long a device code's row is kept after the code expired (seconds). */
const DEVICE_CODE_GRACE_S = 600;

/** How often (at most) expired rows are pruned, piggybacked on writes. */
const PRUNE_EVERY_MS = 60_000;

export function createOAuthStorage(context: () => ServiceContext): OAuthStorage {
  let prunedAt = 0;

  function sealPayload(ctx: ServiceContext, model: string, idHash: Buffer, payload: OAuthPayload): Buffer {
    return seal(
      databaseKey(ctx.db, ctx.keyring),
      Buffer.from(JSON.stringify(payload), 'utf8'),
      `oauth:${model}:${idHash.toString('hex')}`,
    );
  }

  function read(ctx: ServiceContext, row: OAuthPayloadRow | undefined, id?: string): OAuthPayload | undefined {
    if (!row) return undefined;
    const sealed = openOAuthPayload(ctx, row);
    // A token's id is the token: kept out of the sealed payload, given back by whoever presents it.
    const payload = BY_ID_ONLY.has(row.model) && id !== undefined ? { ...sealed, jti: id } : sealed;
    // Consumption is a column of its own (set atomically), seconds since the epoch for the provider.
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
  }

  return {
    upsert(model, id, payload, expiresInSeconds) {
      const ctx = context();
      const now = ctx.now();
      const idHash = sha256(id);
      const str = (key: string) => (typeof payload[key] === 'string' ? payload[key] : null);
      // The account a row is of, also where the provider nests it: an interaction the sign-in page
      // finished (result.login) or that runs in a signed-in session (session). Ending the account's
      // sessions deletes by this column, so a sign-in finished but not yet resumed ends with them.
      const accountId = str('accountId') ?? nestedAccountId(payload);
      const userCode = str('userCode');
      ctx.db.transaction(() => {
        upsertOAuthPayload(ctx.db, {
          model,
          id_hash: idHash,
          payload: sealPayload(ctx, model, idHash, BY_ID_ONLY.has(model) ? withoutId(payload) : payload),
          grant_id: str('grantId'),
          user_code_hash: userCode ? sha256(userCode) : null,
          uid: str('uid'),
          client_id: str('clientId'),
          account_id: accountId !== null && /^\d+$/.test(accountId) ? Number(accountId) : null,
          // A device code's row outlives the code by GRACE: polled after its time, the provider finds
          // it and answers expired_token (RFC 8628 §3.5), not "unknown code".
          expires_at: expiresInSeconds
            ? now + (expiresInSeconds + (model === 'DeviceCode' ? DEVICE_CODE_GRACE_S : 0)) * 1000
            : null,
          consumed_at: null,
        });
        // A full batch means more are left: the next write prunes again, not a minute later.
        if (now - prunedAt >= PRUNE_EVERY_MS && pruneOAuthPayloads(ctx.db, now) < PRUNE_BATCH) prunedAt = now;
      })();
    },
    find(model, id) {
      const ctx = context();
      return read(ctx, findOAuthPayload(ctx.db, model, sha256(id), ctx.now()), id);
    },
    findByUid(model, uid) {
      const ctx = context();
      return read(ctx, findOAuthPayloadByUid(ctx.db, model, uid, ctx.now()));
    },
    findByUserCode(model, userCode) {
      const ctx = context();
      return read(ctx, findOAuthPayloadByUserCode(ctx.db, model, sha256(userCode), ctx.now()));
    },
    consume(model, id) {
      const ctx = context();
      return consumeOAuthPayload(ctx.db, model, sha256(id), ctx.now());
    },
    destroy(model, id) {
      destroyOAuthPayload(context().db, model, sha256(id));
    },
    revokeByGrantId(grantId) {
      revokeOAuthGrant(context().db, grantId);
    },
    client(clientId): OAuthClientRecord | undefined {
      const app = findOAuthApp(context().db, clientId);
      if (!app || app.deleted_at !== null || app.disabled_at !== null) return undefined;
      return {
        clientId: app.client_id,
        name: app.name,
        owner: findAccountById(context().db, app.owner_account_id)?.username ?? '?',
        redirectUris: JSON.parse(app.redirect_uris) as string[],
        public: app.public === 1,
        secretHash: app.secret_hash ? app.secret_hash.toString('hex') : null,
      };
    },
    signingKeys() {
      const ctx = context();
      const key = databaseKey(ctx.db, ctx.keyring);
      let rows = publishedOAuthKeys(ctx.db);
      if (rows.length === 0) {
        ctx.db.transaction(() => {
          if (publishedOAuthKeys(ctx.db).length === 0) addSigningKey(ctx);
        })();
        rows = publishedOAuthKeys(ctx.db);
      }
      return {
        version: oauthKeysVersion(ctx.db),
        keys: rows.map((r) => JSON.parse(open(key, r.jwk, `oauth-key:${r.kid}`).toString('utf8')) as OAuthJwk),
      };
    },
    keysVersion() {
      return oauthKeysVersion(context().db);
    },
    sessionAccount(sessionToken) {
      try {
        return String(authenticate(context(), sessionToken).account.id);
      } catch {
        return undefined;
      }
    },
    authorized(sub, clientId, scopes, first, ip) {
      const ctx = context();
      const account = /^\d+$/.test(sub) ? findAccountById(ctx.db, Number(sub)) : undefined;
      const app = findOAuthApp(ctx.db, clientId);
      if (!account || !app) return;
      const origin = { ip, client: `OAuth application ${app.name}` };
      recordActivity(ctx, account.id, 'oauth.authorized', {
        detail: { clientId, app: app.name, scopes },
        origin,
      });
      if (first)
        ctx.background.run('mail: application authorized notice', () =>
          notifySecurity(
            ctx,
            account,
            securityNotice(
              ctx,
              account,
              `the application "${app.name}" (client ${clientId}) was authorized (scopes: ${scopes.join(' ') || 'none'})`,
              origin,
            ),
          ),
        );
    },
    deviceSession(accessToken, origin) {
      const ctx = context();
      const idHash = sha256(accessToken);
      return ctx.db.transaction(() => {
        const row = findOAuthPayload(ctx.db, 'AccessToken', idHash, ctx.now());
        if (!row || row.client_id !== CLI_CLIENT_ID || row.account_id === null) return undefined;
        const account = findAccountById(ctx.db, row.account_id);
        if (!account || account.locked_at !== null) return undefined;
        // Spent: the token makes one session, never two (also when it is refused below).
        destroyOAuthPayload(ctx.db, 'AccessToken', idHash);
        // The session is used from the device's address: the account's IP list applies to it as to
        // any sign-in (the browser that approved may have been elsewhere).
        if (origin.ip && !isAllowed(ctx, account, origin.ip)) {
          recordActivity(ctx, account.id, 'signin.refused', { origin, detail: { reason: 'ip', method: 'device' } });
          return undefined;
        }
        const session = createSession(ctx, account, origin);
        recordActivity(ctx, account.id, 'session.device', { origin, sessionId: session.sessionId });
        noticeNewSignInSource(ctx, account, origin, session.sessionId);
        return session;
      })();
    },
    account(sub, accessTokenFrom): OAuthAccount | undefined {
      if (!/^\d+$/.test(sub)) return undefined;
      const ctx = context();
      const account = findAccountById(ctx.db, Number(sub));
      // A locked account is nobody to the provider: no userinfo, no new tokens for it.
      if (!account || account.locked_at !== null) return undefined;
      if (accessTokenFrom !== undefined && !isAllowedById(ctx, account.id, accessTokenFrom)) return undefined;
      return {
        sub,
        username: account.username,
        email: account.email,
        emailVerified: account.email_verified_at !== null,
      };
    },
  };
}

/**
 * A new ID-token signing key (RSA 2048 for RS256), sealed; keys older than the two published ones
 * are retired. Returns the new key id. Runs inside the caller's transaction.
 */
export function addSigningKey(ctx: ServiceContext): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const now = ctx.now();
  // RFC 7638 thumbprint of the public part, shortened: a stable id that names the key, not a secret.
  const thumbprint = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest('base64url')
    .slice(0, 16);
  const kid = `${new Date(now).toISOString().slice(0, 10)}-${thumbprint}`;
  const full = { ...jwk, kid, alg: 'RS256', use: 'sig' };
  insertOAuthKey(ctx.db, {
    kid,
    jwk: seal(databaseKey(ctx.db, ctx.keyring), Buffer.from(JSON.stringify(full), 'utf8'), `oauth-key:${kid}`),
    created_at: now,
  });
  retireOldOAuthKeys(ctx.db, now);
  return kid;
}
