import { hash } from 'node:crypto';
import { OAUTH_TOKEN_PREFIX } from '../oauth-types.js';
import type { Db } from '../store/db.js';
import { findOAuthTokenForCheck, type OAuthTokenCheckRow } from '../store/oauth-payloads.js';
import type { ActiveAppIntrospection, ActiveIntrospection } from '../views.js';
import type { ServiceContext } from './context.js';
import { isAllowedById } from './ip-networks.js';
import { openOAuthPayload } from './oauth-payload.js';

// Issue #21: the access tokens the OAuth provider of `acctsec serve` issues to applications (prefix
// acsoa_), answered by the same RFC 7662 introspection as personal access tokens (tokens.ts's
// verifyToken), for resource servers that accept them.
//
// - Active: an AccessToken of an existing, unlocked account, or a ClientCredentials token (an
//   application's own, with no account), not expired, of an application neither disabled nor deleted;
//   from outside the account's IP list, inactive, as a personal access token is.
// - Never answered from the change counter's cache (migration 008): the provider writes oauth_payloads
//   on every step of every sign-in (interactions, sessions, grants, codes), so triggers there would
//   empty the personal tokens' cache all day long. The row is read on every check instead, one indexed
//   query that also judges the app and the account; a revocation, an app disabled or deleted, a grant
//   ended by refresh-token reuse is seen by the very next request.
// - What is unsealed (the scope, iat, exp of the payload) is kept per token with the sealed bytes it
//   came from, so a check costs no crypto while the row is the same.

/** The provider's token ids: nanoid (base64url), 43 characters for its 256 bits, after our prefix. */
const APP_TOKEN = new RegExp(`^${OAUTH_TOKEN_PREFIX}[A-Za-z0-9_-]{16,128}$`);

export function isAppToken(secret: string): boolean {
  return secret.startsWith(OAUTH_TOKEN_PREFIX);
}

interface CheckedAppToken {
  /** SHA-256 of the token: the row's key (oauth-storage.ts keeps nothing else of it). */
  hash: Buffer;
  /** The sealed payload the answer was made from; another one (or another username) makes it anew. */
  payload: Buffer;
  username: string | null;
  answer: ActiveIntrospection | ActiveAppIntrospection;
}

/** Unsealed tokens, per connection, by token; at most this many (then the cache starts over). */
const CACHE_LIMIT = 10_000;
const unsealed = new WeakMap<Db, Map<string, CheckedAppToken>>();

/**
 * The active answer for an application's access token (trimmed), or undefined: unknown, malformed,
 * expired, revoked, a refresh token or anything the provider stores that is not an access token, of a
 * dead application or account, or used from outside the account's IP list (`ip` in normal form).
 * Every inactive case is one lookup and nothing more, as for an unknown token.
 */
export function activeAppToken(
  ctx: ServiceContext,
  secret: string,
  ip: string | undefined,
  askedBy?: number,
): ActiveIntrospection | ActiveAppIntrospection | undefined {
  if (!APP_TOKEN.test(secret)) return undefined;
  let cache = unsealed.get(ctx.db);
  if (!cache) unsealed.set(ctx.db, (cache = new Map<string, CheckedAppToken>()));
  const hit = cache.get(secret);
  const row = findOAuthTokenForCheck(ctx.db, hit ? hit.hash : hash('sha256', secret, 'buffer'), ctx.now());
  if (!row) {
    cache.delete(secret);
    return undefined;
  }
  // An application's tokens are for its own resource servers: over HTTP only the account that
  // registered it is told they are active (a resource server of another app, or one written for
  // personal access tokens, must not take them for its own); anyone else hears "inactive".
  if (askedBy !== undefined && row.owner_account_id !== askedBy) return undefined;
  // The person's IP list holds for what an application does with their token, as for their own tokens.
  if (ip !== undefined && row.account_id !== null && row.restricted && !isAllowedById(ctx, row.account_id, ip))
    return undefined;
  if (hit && hit.username === row.username && hit.payload.equals(row.payload)) return hit.answer;
  const answer = answerFor(row, openOAuthPayload(ctx, row), ctx.now());
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(secret, { hash: row.id_hash, payload: row.payload, username: row.username, answer });
  return answer;
}

function answerFor(row: OAuthTokenCheckRow, payload: Record<string, unknown>, now: number) {
  const scopes = Object.freeze(
    typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => s !== '') : [],
  ) as string[];
  const exp =
    typeof payload.exp === 'number'
      ? payload.exp
      : row.expires_at === null
        ? undefined
        : Math.floor(row.expires_at / 1000);
  const iat = typeof payload.iat === 'number' ? payload.iat : Math.floor(now / 1000);
  const common = {
    scope: scopes.join(' '),
    client_id: row.client_id,
    ...(exp === undefined ? {} : { exp }),
    iat,
  };
  const ours = {
    scopes,
    resources: Object.freeze([]) as unknown as string[],
    expiresAt: exp === undefined ? null : new Date(exp * 1000).toISOString(),
    deprecated: false,
  };
  // Frozen, as the personal tokens' answers are: the server serialises each one once.
  if (row.account_id === null || row.username === null)
    return Object.freeze<ActiveAppIntrospection>({ active: true, ...common, token_type: 'Bearer', ...ours });
  return Object.freeze<ActiveIntrospection>({
    active: true,
    ...common,
    sub: String(row.account_id),
    username: row.username,
    token_type: 'Bearer',
    account: row.username,
    ...ours,
  });
}
