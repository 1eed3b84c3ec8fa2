import { hash, randomBytes } from 'node:crypto';
import { AuthFailed, Conflict, Forbidden, InvalidInput, NotFound } from '../errors.js';
import { findAccountById, type AccountRow } from '../store/accounts.js';
import {
  changeGeneration,
  withOneGeneration,
  findLiveToken,
  findTokenByHash,
  findTokenForCheck,
  insertToken,
  listTokens,
  recordTokenUse,
  revokeToken,
  type TokenCheckRow,
  type TokenRow,
} from '../store/tokens.js';
import type { Db } from '../store/db.js';
import { inspectSecret, newSecret } from '../token-format.js';
import type {
  ApiKeyStatus,
  IdentityProof,
  Introspection,
  ScopeInfo,
  TokenCreated,
  TokenRequest,
  TokenView,
} from '../views.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { confirmIdentity } from './identity.js';
import { isAllowedById, parseAddress } from './ip-networks.js';
import { activeAppToken, isAppToken } from './oauth-introspection.js';
import { notifySecurity, securityNotice } from './notifications.js';
import type { Auth } from './sessions.js';

// Personal access tokens and the deprecated API key (SPEC §7).

const DAY = 86_400_000;
export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 366;
/** `last used` is written at most once a minute per token (and when the address changes). */
const USE_WRITE_EVERY_MS = 60_000;
const EXPIRING_SOON_MS = 7 * DAY;

/** The scope a resource server's token needs to ask about other tokens (RFC 7662 §2.1). */
export const INTROSPECT_SCOPE = 'tokens:introspect';

/** The scopes of this tool's own API (remote mode checks them); always in the catalogue. */
export const OWN_SCOPES: ScopeInfo[] = [
  { name: 'account:read', description: 'read account status, sessions, MFA state and activity', source: 'acctsec' },
  { name: 'ip:write', description: 'change the IP allow-list', source: 'acctsec' },
  { name: 'notifications:write', description: 'change notification preferences', source: 'acctsec' },
  {
    name: INTROSPECT_SCOPE,
    description: 'ask a remote server whether other tokens are active (RFC 7662 introspection, for resource servers)',
    source: 'acctsec',
  },
];

export function scopeCatalogue(ctx: ServiceContext): ScopeInfo[] {
  return [
    ...OWN_SCOPES,
    ...ctx.policy.tokenScopes.map((name) => ({ name, description: 'provider API', source: 'provider' as const })),
  ];
}

/** SHA-256 of the trimmed secret; crypto.hash (Node ≥ 20.12) is the one-shot form, cheaper per call than createHash. */
export function hashSecret(secret: string): Buffer {
  return hash('sha256', secret.trim(), 'buffer');
}

/** `30d`, `90d` (1 to 366 days) or a date `YYYY-MM-DD` (valid through that day, UTC). */
export function parseExpiry(text: string | undefined, now: number): number {
  if (text === undefined) return now + DEFAULT_DAYS * DAY;
  const days = /^(\d{1,4})d$/.exec(text.trim());
  let at: number;
  if (days) {
    const n = Number(days[1]);
    if (n < 1) throw new InvalidInput(`invalid expiry "${text}": at least 1d`, '--expires');
    at = now + n * DAY;
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(text.trim()) && !Number.isNaN(Date.parse(`${text.trim()}T00:00:00Z`))) {
    const start = Date.parse(`${text.trim()}T00:00:00Z`);
    if (new Date(start).toISOString().slice(0, 10) !== text.trim())
      throw new InvalidInput(`invalid expiry "${text}": no such date`, '--expires');
    at = start + DAY;
    if (at <= now) throw new InvalidInput(`invalid expiry "${text}": the date is in the past`, '--expires');
  } else {
    throw new InvalidInput(
      `invalid expiry "${text}": use 30d, 90d (any 1d to ${MAX_DAYS}d) or a date YYYY-MM-DD`,
      '--expires',
    );
  }
  if (at > now + MAX_DAYS * DAY)
    throw new InvalidInput(`invalid expiry "${text}": at most ${MAX_DAYS} days from now`, '--expires');
  return at;
}

function validName(raw: string): string {
  const name = raw.trim();
  if (!name || name.length > 64 || /[\p{Cc}]/u.test(name))
    throw new InvalidInput(`invalid token name "${raw}": 1 to 64 printable characters`, '--name');
  return name;
}

function validScopes(ctx: ServiceContext, scopes: string[]): string[] {
  const catalogue = scopeCatalogue(ctx).map((s) => s.name);
  if (scopes.length === 0)
    throw new InvalidInput('choose at least one --scope (see `acctsec token scopes`)', '--scope');
  for (const s of scopes) {
    if (!catalogue.includes(s)) throw new InvalidInput(`unknown scope "${s}"; see \`acctsec token scopes\``, '--scope');
  }
  return [...new Set(scopes)];
}

function validResources(resources: string[]): string[] {
  for (const r of resources) {
    if (!r.trim() || r.length > 200 || /[\s\p{Cc}]/u.test(r))
      throw new InvalidInput(`invalid resource "${r}": 1 to 200 characters, no spaces`, '--resource');
  }
  return [...new Set(resources)];
}

function state(ctx: ServiceContext, row: Pick<TokenRow, 'revoked_at' | 'expires_at'>): TokenView['state'] {
  if (row.revoked_at !== null) return 'revoked';
  if (row.expires_at !== null && row.expires_at <= ctx.now()) return 'expired';
  return 'active';
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function view(ctx: ServiceContext, row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    resources: JSON.parse(row.resources) as string[],
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    state: state(ctx, row),
  };
}

function issue(
  ctx: ServiceContext,
  account: AccountRow,
  kind: 'token' | 'apikey',
  name: string,
  scopes: string[],
  resources: string[],
  expiresAt: number | null,
): TokenCreated {
  const token = newSecret(kind);
  const id = `${kind === 'token' ? 'tok' : 'key'}_${randomBytes(5).toString('hex')}`;
  insertToken(ctx.db, {
    id,
    account_id: account.id,
    kind,
    name,
    token_hash: hashSecret(token),
    scopes: JSON.stringify(scopes),
    resources: JSON.stringify(resources),
    created_at: ctx.now(),
    expires_at: expiresAt,
  });
  return { id, name, token, scopes, resources, expiresAt: iso(expiresAt) };
}

export async function createToken(
  ctx: ServiceContext,
  auth: Auth,
  req: TokenRequest,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<TokenCreated> {
  const a = auth.account;
  const name = validName(req.name);
  const scopes = validScopes(ctx, req.scopes);
  const resources = validResources(req.resources);
  const expiresAt = parseExpiry(req.expires, ctx.now());
  if (findLiveToken(ctx.db, a.id, 'token', name))
    throw new Conflict(`a token named "${name}" exists; choose another name or rotate it`);
  await confirmIdentity(ctx, auth, proof, origin);
  const created = ctx.db
    .transaction(() => {
      if (findLiveToken(ctx.db, a.id, 'token', name))
        throw new Conflict(`a token named "${name}" exists; choose another name or rotate it`);
      const t = issue(ctx, a, 'token', name, scopes, resources, expiresAt);
      recordActivity(ctx, a.id, 'token.created', {
        origin,
        sessionId: auth.session.id,
        detail: { id: t.id, name, scopes, expiresAt: t.expiresAt },
      });
      return t;
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(ctx, a, `a personal access token "${name}" was created (scopes: ${scopes.join(', ')})`, origin),
  );
  return created;
}

export function tokenViews(ctx: ServiceContext, account: AccountRow): TokenView[] {
  return listTokens(ctx.db, account.id, 'token').map((r) => view(ctx, r));
}

function live(ctx: ServiceContext, account: AccountRow, kind: 'token' | 'apikey', ref: string): TokenRow {
  const row = findLiveToken(ctx.db, account.id, kind, ref);
  if (!row) throw new NotFound(`no live token with id or name "${ref}"; see \`acctsec token list\``);
  return row;
}

export async function revokeTokenByRef(
  ctx: ServiceContext,
  auth: Auth,
  ref: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<TokenView> {
  const row = live(ctx, auth.account, 'token', ref);
  await confirmIdentity(ctx, auth, proof, origin);
  revokeToken(ctx.db, row.id, ctx.now());
  recordActivity(ctx, auth.account.id, 'token.revoked', {
    origin,
    sessionId: auth.session.id,
    detail: { id: row.id, name: row.name },
  });
  // Issue #20 §4: revoking a token is a security notice.
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(ctx, auth.account, `the access token "${row.name}" was revoked`, origin),
  );
  return view(ctx, { ...row, revoked_at: ctx.now() });
}

/** Same name, scopes, resources and lifetime; a new secret; the old one revoked in the same transaction. */
export async function rotateToken(
  ctx: ServiceContext,
  auth: Auth,
  ref: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<TokenCreated> {
  const a = auth.account;
  const old = live(ctx, a, 'token', ref);
  await confirmIdentity(ctx, auth, proof, origin);
  const lifetime = (old.expires_at ?? ctx.now() + DEFAULT_DAYS * DAY) - old.created_at;
  const created = ctx.db
    .transaction(() => {
      if (!revokeToken(ctx.db, old.id, ctx.now())) throw new NotFound(`the token "${ref}" was revoked meanwhile`);
      const t = issue(
        ctx,
        a,
        'token',
        old.name,
        JSON.parse(old.scopes) as string[],
        JSON.parse(old.resources) as string[],
        ctx.now() + Math.min(lifetime, MAX_DAYS * DAY),
      );
      recordActivity(ctx, a.id, 'token.rotated', {
        origin,
        sessionId: auth.session.id,
        detail: { id: t.id, replaced: old.id, name: old.name },
      });
      return t;
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(
      ctx,
      a,
      `the personal access token "${old.name}" was rotated (the old secret no longer works)`,
      origin,
    ),
  );
  return created;
}

const INACTIVE: Introspection = Object.freeze({ active: false as const });

/**
 * Introspection (`token verify`, RFC 7662's shape): inactive when malformed (caught by the checksum,
 * before any lookup), unknown, revoked, expired, of a locked account, or used from outside the
 * account's IP list. `last used` is written at most once a minute, not on every check. An access
 * token issued to an OAuth application (acsoa_) is judged by oauth-introspection.ts, on a fresh read
 * of its row whatever the change counter says.
 */
export function verifyToken(
  ctx: ServiceContext,
  raw: string,
  rawIp?: string,
  generation?: number,
  /** The account asking over HTTP (its session or its token); an application's token is answered to its owner only. */
  askedBy?: number,
): Introspection {
  // Judged for every token, active or not (an answer that depended on it would tell which tokens
  // are live), and stored only in its normal form: `last used from` shows an address, nothing else.
  const ip = rawIp === undefined ? undefined : normalAddress(rawIp);
  const secret = raw.trim();
  if (isAppToken(secret)) return activeAppToken(ctx, secret, ip, askedBy) ?? INACTIVE;
  const checked = activeToken(ctx, raw, ip, generation);
  if (!checked) return INACTIVE;
  // Built once per row as the store gave it, frozen: every check until the counter moves hands out
  // the same answer (and the server serialises it once).
  return (checked.answer ??= answerFor(checked));
}

function answerFor(checked: CheckedToken): Introspection {
  const { row } = checked;
  return Object.freeze({
    active: true as const,
    scope: checked.scope,
    ...(row.expires_at === null ? {} : { exp: Math.floor(row.expires_at / 1000) }),
    iat: Math.floor(row.created_at / 1000),
    sub: String(row.account_id),
    username: row.username,
    token_type: 'Bearer' as const,
    account: row.username,
    scopes: Object.freeze(checked.scopes.slice()) as string[],
    resources: Object.freeze(checked.resources.slice()) as string[],
    expiresAt: checked.expiresAt,
    deprecated: row.kind === 'apikey',
  });
}

/** The token's check when it is active (see verifyToken), its use recorded; undefined otherwise. */
function activeToken(
  ctx: ServiceContext,
  raw: string,
  ip: string | undefined,
  generation: number | undefined,
): CheckedToken | undefined {
  const checked = tokenForCheck(ctx, raw, generation);
  if (!checked) return undefined;
  const { row } = checked;
  if (state(ctx, row) !== 'active' || row.locked_at !== null) return undefined;
  if (ip !== undefined && row.restricted && !isAllowedById(ctx, row.account_id, ip)) return undefined;
  const now = ctx.now();
  if (
    row.last_used_at === null ||
    now - row.last_used_at >= USE_WRITE_EVERY_MS ||
    (ip !== undefined && ip !== row.last_used_ip)
  ) {
    if (recordTokenUse(ctx.db, row.id, now, ip ?? row.last_used_ip)) {
      row.last_used_at = now;
      row.last_used_ip = ip ?? row.last_used_ip;
    }
  }
  return checked;
}

interface CheckedToken {
  generation: number;
  /** SHA-256 of the secret: what the row is found by again once the counter has moved. */
  hash: Buffer;
  row: TokenCheckRow;
  scopes: string[];
  resources: string[];
  /** Derived from the row once, not on every answer (Date#toISOString alone was ~0.3 µs a call). */
  scope: string;
  expiresAt: string | null;
  /** The active answer, made on first use. */
  answer?: Introspection;
}

/** Found tokens, per connection, by secret; at most this many (then the cache starts over). */
const CACHE_LIMIT = 10_000;
const checkCache = new WeakMap<Db, Map<string, CheckedToken>>();

/**
 * The token's row for introspection. Rows found earlier are kept with the change counter of the
 * moment (migration 008): while the counter has not moved — one row read per check — nothing the
 * answer depends on has changed in any process, so the row is still the database's. Expiry is
 * judged on every check; the IP list, when the account has one, is always read afresh. Unknown
 * secrets are not kept.
 *
 * Kept by the (trimmed) secret itself, as serve's back ends already are: its format check and hash
 * are functions of the string alone, so a secret found before skips both (a CRC32 and a SHA-256 on
 * every request of a resource server, for its own token and the one it asks about), while the
 * counter is still read, so a revocation is seen by the next request all the same.
 */
function tokenForCheck(ctx: ServiceContext, raw: string, known?: number): CheckedToken | undefined {
  const secret = raw.trim();
  let cache = checkCache.get(ctx.db);
  if (!cache) checkCache.set(ctx.db, (cache = new Map<string, CheckedToken>()));
  const hit = cache.get(secret);
  if (!hit) {
    const shape = inspectSecret(secret);
    if (!shape.valid || shape.kind === 'reset') return undefined;
  }
  const generation = known ?? changeGeneration(ctx.db);
  if (hit && hit.generation === generation) return hit;
  const hash = hit ? hit.hash : hashSecret(secret);
  const row = findTokenForCheck(ctx.db, hash);
  if (!row) {
    cache.delete(secret);
    return undefined;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  const scopes = JSON.parse(row.scopes) as string[];
  const checked = {
    generation,
    hash,
    row,
    scopes,
    resources: JSON.parse(row.resources) as string[],
    scope: scopes.join(' '),
    expiresAt: iso(row.expires_at),
  };
  cache.set(secret, checked);
  return checked;
}

/** Addresses already judged, by their text: a resource server sends the same few again and again. */
const normalAddresses = new Map<string, string>();

function normalAddress(raw: string): string {
  let normal = normalAddresses.get(raw);
  if (normal === undefined) {
    normal = parseAddress(raw, 'ip').toString();
    if (normalAddresses.size >= 1000) normalAddresses.clear();
    normalAddresses.set(raw, normal);
  }
  return normal;
}

/**
 * Runs a batch of introspections (synchronous calls, see serve) on one read of the change counter,
 * made now: every answer in it reflects every change committed before the batch began, in any
 * process, as if each had read the counter itself, for one row read instead of one per request.
 */
export function introspectionBatch<T>(ctx: ServiceContext, fn: () => T): T {
  return withOneGeneration(ctx.db, fn);
}

/**
 * Introspection for a resource server that authenticates with its own token (RFC 7662 §2.1): that
 * token must be active from the caller's address and hold tokens:introspect. Both checks see one read
 * of the change counter, taken in this synchronous call: one snapshot of the database for the request.
 */
export function introspectFor(
  ctx: ServiceContext,
  caller: { token: string; ip?: string | undefined },
  raw: string,
  ip?: string,
): Introspection {
  const generation = changeGeneration(ctx.db);
  const own = activeToken(ctx, caller.token, caller.ip, generation);
  if (!own)
    throw new AuthFailed(
      'the access token is not active (expired, revoked, unknown, or not allowed from this address)',
      'inactive_token',
    );
  if (!own.scopes.includes(INTROSPECT_SCOPE))
    throw new Forbidden(`the access token lacks the scope ${INTROSPECT_SCOPE}`, 'missing_scope');
  return verifyToken(ctx, raw, ip, generation, own.row.account_id);
}

/**
 * A request made with a personal access token (remote mode): the account it belongs to, with a
 * stand-in session so activity entries name the token. Scopes are checked by the server's routes.
 */
export function authenticateAccessToken(ctx: ServiceContext, raw: string, ip?: string): Auth {
  const result = verifyToken(ctx, raw, ip);
  const row = result.active ? findTokenByHash(ctx.db, hashSecret(raw)) : undefined;
  const account = row ? findAccountById(ctx.db, row.account_id) : undefined;
  if (!row || !account)
    throw new AuthFailed(
      'the access token is not active (expired, revoked, unknown, or not allowed from this address)',
      'inactive_token',
    );
  const now = ctx.now();
  return {
    account,
    viaToken: true,
    session: {
      id: row.id,
      account_id: account.id,
      token_hash: row.token_hash,
      created_at: row.created_at,
      last_seen_at: now,
      // A token is its own proof: there is no password to ask for in a script.
      authenticated_at: now,
      expires_at: row.expires_at ?? now,
      client: `token ${row.name}`,
      ip: ip ?? null,
      revoked_at: null,
    },
  };
}

export function tokenSummary(ctx: ServiceContext, account: AccountRow): { active: number; expiringSoon: TokenView[] } {
  const active = tokenViews(ctx, account).filter((t) => t.state === 'active');
  const soon = active.filter((t) => t.expiresAt !== null && Date.parse(t.expiresAt) - ctx.now() <= EXPIRING_SOON_MS);
  return { active: active.length, expiringSoon: soon };
}

// The deprecated API key: one per account, every scope of the catalogue, no expiry.

export function apiKeyStatus(ctx: ServiceContext, account: AccountRow): ApiKeyStatus {
  const row = listTokens(ctx.db, account.id, 'apikey').find((r) => r.revoked_at === null);
  return row
    ? {
        present: true,
        id: row.id,
        createdAt: iso(row.created_at),
        lastUsedAt: iso(row.last_used_at),
        lastUsedIp: row.last_used_ip,
        scopes: JSON.parse(row.scopes) as string[],
      }
    : { present: false, id: null, createdAt: null, lastUsedAt: null, lastUsedIp: null, scopes: [] };
}

export async function generateApiKey(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<{ key: string; id: string }> {
  const a = auth.account;
  await confirmIdentity(ctx, auth, proof, origin);
  const created = ctx.db
    .transaction(() => {
      const old = listTokens(ctx.db, a.id, 'apikey').find((r) => r.revoked_at === null);
      if (old) revokeToken(ctx.db, old.id, ctx.now());
      const t = issue(
        ctx,
        a,
        'apikey',
        'api-key',
        scopeCatalogue(ctx).map((s) => s.name),
        [],
        null,
      );
      recordActivity(ctx, a.id, 'apikey.generated', {
        origin,
        sessionId: auth.session.id,
        detail: { id: t.id, replaced: old?.id ?? null },
      });
      return t;
    })
    .immediate();
  await notifySecurity(ctx, a, securityNotice(ctx, a, 'a (deprecated) API key was generated', origin));
  return { key: created.token, id: created.id };
}

export async function deleteApiKey(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<void> {
  const row = listTokens(ctx.db, auth.account.id, 'apikey').find((r) => r.revoked_at === null);
  if (!row) throw new NotFound('there is no API key');
  await confirmIdentity(ctx, auth, proof, origin);
  revokeToken(ctx.db, row.id, ctx.now());
  recordActivity(ctx, auth.account.id, 'apikey.deleted', {
    origin,
    sessionId: auth.session.id,
    detail: { id: row.id },
  });
  // Issue #20 §4: deleting the API key is a security notice.
  await notifySecurity(ctx, auth.account, securityNotice(ctx, auth.account, 'the legacy API key was deleted', origin));
}

/** The key's scopes move to a new token (printed once), and the key is deleted, in one transaction. */
export async function migrateApiKey(
  ctx: ServiceContext,
  auth: Auth,
  name: string,
  expires: string | undefined,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<TokenCreated> {
  const a = auth.account;
  const key = listTokens(ctx.db, a.id, 'apikey').find((r) => r.revoked_at === null);
  if (!key) throw new NotFound('there is no API key to migrate');
  const tokenName = validName(name);
  const expiresAt = parseExpiry(expires, ctx.now());
  if (findLiveToken(ctx.db, a.id, 'token', tokenName))
    throw new Conflict(`a token named "${tokenName}" exists; pass another --name`);
  await confirmIdentity(ctx, auth, proof, origin);
  const created = ctx.db
    .transaction(() => {
      revokeToken(ctx.db, key.id, ctx.now());
      const t = issue(ctx, a, 'token', tokenName, JSON.parse(key.scopes) as string[], [], expiresAt);
      recordActivity(ctx, a.id, 'apikey.migrated', {
        origin,
        sessionId: auth.session.id,
        detail: { key: key.id, token: t.id },
      });
      return t;
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(ctx, a, `the API key was replaced by the personal access token "${tokenName}"`, origin),
  );
  return created;
}
