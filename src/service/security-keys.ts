import { createHash, createHmac, randomBytes } from 'node:crypto';
import type * as WebAuthn from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { AuthFailed, Conflict, InvalidInput, NotFound } from '../errors.js';
import { kindOf } from '../factor-kinds.js';
import { findAccountByUsername, type AccountRow } from '../store/accounts.js';
import {
  advanceCounter,
  consumeCeremony,
  countSecurityKeys,
  deleteAllSecurityKeys,
  deleteSecurityKey,
  findCeremony,
  findSecurityKeyByCredential,
  findSecurityKeyByName,
  insertCeremony,
  insertSecurityKey,
  listSecurityKeys,
  recordCeremonyAnswer,
  renameSecurityKey,
  type CeremonyPurpose,
  type CeremonyRow,
  type SecurityKeyRow,
} from '../store/security-keys.js';
import type { IdentityProof, KeyAdded, KeyCeremony, KeyCeremonyOptions, KeyCeremonyState, KeyView } from '../views.js';
import { recordActivity } from './activity.js';
import { codeAccepted, codeCheck, codeFailed } from './code-attempts.js';
import type { Auth, RelyingParty, RequestOrigin, SecondFactor, ServiceContext } from './context.js';
import { checkPassword, normalizeUsername } from './credentials.js';
import { databaseKey } from './encryption.js';
import { assertMayDisable, identityFactors, removeFallbacks } from './factor-list.js';
import { confirmIdentity } from './identity.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { issueRecoveryCodes, recoveryCodesLeft } from './recovery-code-set.js';
import type { Throttle } from './throttle.js';
import { repairDetail, repairNote } from './repair-window.js';

// Security keys (WebAuthn / FIDO2, SPEC §4.3), verified by @simplewebauthn/server. The browser does the
// ceremony on a page served on loopback by the CLI (local mode) or by `acctsec serve` (remote mode);
// that page fetches the options and posts the browser's answer; the caller that started the ceremony
// (holding the session, or the password at sign-in) then has the answer verified. At sign-in, in
// identity confirmation and in recovery, the ceremony's id is the key method's "code".

/**
 * @simplewebauthn/server, loaded by the first ceremony: it is most of what a command would otherwise
 * load at start-up (issue #18), and only key ceremonies need it.
 */
function webauthn(): Promise<typeof WebAuthn> {
  return import('@simplewebauthn/server');
}

export type { RelyingParty } from './context.js';

/** How long a ceremony waits for the browser. */
export const CEREMONY_MS = 5 * 60_000;
const NAME_MAX = 64;
/** The browser's answer is a few KiB at most; anything larger is not one. */
const ANSWER_MAX = 32 * 1024;

function ceremonyHash(id: string): Buffer {
  return createHash('sha256').update(`key-ceremony:${id}`).digest();
}

/** A ceremony by the id the terminal holds (ids are 24 characters; anything far longer is not one). */
function findCeremonyById(ctx: ServiceContext, id: unknown): { hash: Buffer; row: CeremonyRow | undefined } {
  const text = String(id);
  const hash = ceremonyHash(text);
  return { hash, row: text.length <= 64 ? findCeremony(ctx.db, hash) : undefined };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function keyView(row: SecurityKeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    createdAt: new Date(row.created_at).toISOString(),
    lastUsedAt: iso(row.last_used_at),
    transports: JSON.parse(row.transports) as string[],
    backedUp: row.backed_up === 1,
    aaguid: row.aaguid,
  };
}

function checkName(raw: string, flag: string): string {
  const name = raw.trim();
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (!name || name.length > NAME_MAX || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new InvalidInput(`invalid key name "${raw}": 1 to ${NAME_MAX} characters, no control characters`, flag);
  }
  return name;
}

/** The opaque user handle keys store: stable per account, meaningless outside this database. */
function userHandle(ctx: ServiceContext, account: AccountRow): Uint8Array {
  return new Uint8Array(
    createHmac('sha256', databaseKey(ctx.db, ctx.keyring))
      .update(`webauthn-user:${account.id}`)
      .digest()
      .subarray(0, 16),
  );
}

function allowList(keys: SecurityKeyRow[]): { id: string; transports?: string[] }[] {
  return keys.map((k) => ({ id: k.credential_id, transports: JSON.parse(k.transports) as string[] }));
}

function startCeremony(
  ctx: ServiceContext,
  rp: RelyingParty,
  purpose: CeremonyPurpose,
  accountId: number | null,
  options: { challenge: string },
  keyName: string | null = null,
): KeyCeremony {
  const id = randomBytes(18).toString('base64url');
  const now = ctx.now();
  const row: CeremonyRow = {
    id_hash: ceremonyHash(id),
    account_id: accountId,
    purpose,
    key_name: keyName,
    challenge: options.challenge,
    rp_id: rp.rpId,
    origin: rp.origin,
    options: JSON.stringify(options),
    created_at: now,
    expires_at: now + CEREMONY_MS,
    response: null,
    error: null,
    used_at: null,
  };
  insertCeremony(ctx.db, row);
  // The id travels in the fragment: browsers never send it to a server or in a Referer.
  return {
    ceremonyId: id,
    purpose,
    url: `${rp.origin}/webauthn#${id}`,
    expiresAt: new Date(row.expires_at).toISOString(),
  };
}

async function assertionOptions(ctx: ServiceContext, rp: RelyingParty, keys: { id: string; transports?: string[] }[]) {
  const { generateAuthenticationOptions } = await webauthn();
  return generateAuthenticationOptions({
    rpID: rp.rpId,
    allowCredentials: keys,
    userVerification: ctx.policy.keyUserVerification,
    timeout: CEREMONY_MS,
  });
}

// ---- the page's side: options out, the browser's answer in ------------------------------------

function openCeremony(ctx: ServiceContext, id: string): CeremonyRow {
  const { row } = findCeremonyById(ctx, id);
  if (!row || row.used_at !== null || row.response !== null || row.error !== null || row.expires_at <= ctx.now()) {
    throw new NotFound('no such security key ceremony, or it has finished or expired; start again in the terminal');
  }
  return row;
}

export function ceremonyOptions(ctx: ServiceContext, id: string): KeyCeremonyOptions {
  const row = openCeremony(ctx, id);
  return { purpose: row.purpose, publicKey: JSON.parse(row.options) as Record<string, unknown> };
}

/** The browser's answer (unverified: only the caller that started the ceremony can have it checked). */
export function submitCeremonyAnswer(
  ctx: ServiceContext,
  id: string,
  answer: { response?: unknown; error?: unknown },
): { received: true } {
  openCeremony(ctx, id);
  const hasResponse = answer.response !== undefined && answer.response !== null;
  let response: string | null = null;
  let error: string | null = null;
  if (hasResponse) {
    const r = answer.response as { id?: unknown; type?: unknown; response?: unknown };
    if (
      typeof r !== 'object' ||
      typeof r.id !== 'string' ||
      r.type !== 'public-key' ||
      typeof r.response !== 'object' ||
      r.response === null
    ) {
      throw new InvalidInput('the answer is not a WebAuthn credential (id, type "public-key", response)', 'response');
    }
    response = JSON.stringify(answer.response);
    if (response.length > ANSWER_MAX) throw new InvalidInput(`the answer is over ${ANSWER_MAX / 1024} KiB`, 'response');
  } else {
    error = (typeof answer.error === 'string' && answer.error.trim() ? answer.error : 'the browser gave no answer')
      // eslint-disable-next-line no-control-regex -- control characters are what is being removed
      .replace(/[\u0000-\u001f\u007f]/g, ' ')
      .slice(0, 200);
  }
  if (!recordCeremonyAnswer(ctx.db, ceremonyHash(id), { response, error }, ctx.now())) {
    throw new Conflict('this ceremony already has an answer, or has expired');
  }
  return { received: true };
}

/** Where a ceremony stands, for the terminal waiting on it. */
export function ceremonyState(ctx: ServiceContext, id: string): KeyCeremonyState {
  const { row } = findCeremonyById(ctx, id);
  if (!row) throw new NotFound('no such security key ceremony');
  if (row.used_at !== null) return { state: 'used' };
  if (row.error !== null) return { state: 'failed', message: row.error };
  if (row.response !== null) return { state: 'answered' };
  if (row.expires_at <= ctx.now()) return { state: 'expired' };
  return { state: 'waiting' };
}

// ---- using a key: sign-in, identity confirmation, recovery ------------------------------------

/**
 * Checks the browser's answer to an assertion ceremony of this account: the ceremony is taken once
 * (its answer cannot be presented twice, also under concurrency), the signature must verify over
 * this ceremony's challenge, origin and RP ID, and the signature counter must move forward (a
 * counter that goes back means a cloned authenticator: refused and logged).
 */
function verifyAssertion(
  ctx: ServiceContext,
  account: AccountRow,
  id: string,
  origin: RequestOrigin,
  purposes: CeremonyPurpose[],
  throttle: Throttle,
): Promise<void> {
  return codeCheck(ctx, account, 'key', origin, throttle, async () => {
    const fail = (reason: string, message: string) => codeFailed(ctx, account, 'key', reason, origin, message);
    const { hash, row } = findCeremonyById(ctx, id);
    if (!row || row.account_id !== account.id || !purposes.includes(row.purpose))
      throw fail('unknown', 'no such security key sign-in for this account; start again');
    if (row.used_at !== null) throw fail('replay', 'this security key answer was already used; start again');
    if (row.error !== null) throw fail('browser', `the browser reported: ${row.error}`);
    if (row.response === null)
      throw fail(
        row.expires_at <= ctx.now() ? 'expired' : 'pending',
        row.expires_at <= ctx.now()
          ? 'the security key ceremony expired; start again'
          : 'the browser has not answered yet',
      );
    // Loaded before the ceremony is used up, and outside the verifier's try: a library that cannot load
    // is an internal error, not a wrong answer counted against the user.
    const { verifyAuthenticationResponse } = await webauthn();
    if (!consumeCeremony(ctx.db, hash, ctx.now()))
      throw fail('replay', 'this security key answer was already used; start again');
    const response = JSON.parse(row.response) as AuthenticationResponseJSON;
    const key = findSecurityKeyByCredential(ctx.db, account.id, response.id);
    if (!key) throw fail('unknown-key', 'that security key is not registered for this account');
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: row.challenge,
        expectedOrigin: row.origin,
        expectedRPID: row.rp_id,
        credential: {
          id: key.credential_id,
          publicKey: new Uint8Array(key.public_key),
          counter: key.counter,
          transports: JSON.parse(key.transports) as never,
        },
        requireUserVerification: ctx.policy.keyUserVerification === 'required',
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/counter/i.test(message)) {
        recordActivity(ctx, account.id, 'mfa.key.counter_regressed', { origin, detail: { key: key.name } });
        throw fail(
          'counter',
          `the security key "${key.name}" reported a signature counter that did not move forward: it may have been cloned, so it is refused`,
        );
      }
      throw fail('invalid', `the security key's answer did not verify (${message})`);
    }
    if (!verified.verified) throw fail('invalid', "the security key's answer did not verify");
    if (!advanceCounter(ctx.db, key.id, key.counter, verified.authenticationInfo.newCounter, ctx.now())) {
      throw fail('counter', `the security key "${key.name}" was used twice at once; start again`);
    }
    codeAccepted(ctx, account, 'key', origin);
  });
}

export const keyFactor: SecondFactor<KeyCeremony, KeyAdded> = {
  ...kindOf('key'),
  isActive: (ctx, account) => countSecurityKeys(ctx.db, account.id) > 0,
  status(ctx, account) {
    const keys = listSecurityKeys(ctx.db, account.id);
    return {
      type: 'key',
      enabled: keys.length > 0,
      enabledAt: keys.length ? new Date(keys[0]!.created_at).toISOString() : null,
      keys: keys.length,
    };
  },
  async verify(ctx, account, code, origin, throttle) {
    await verifyAssertion(ctx, account, code, origin, ['signin', 'proof'], throttle);
    return [];
  },
  // `recover --method key`: the account's key answered the recovery ceremony (beginKeyRecovery).
  verifyRecovery: (ctx, account, answer, origin, throttle) =>
    verifyAssertion(ctx, account, answer, origin, ['recover'], throttle),
  enrolment: {
    start(ctx, auth, request, origin) {
      if (!request.relyingParty)
        throw new NotFound('security keys are not available here: no page to run the ceremony on');
      return beginKeyRegistration(ctx, auth, request.name ?? '', request.proof, request.relyingParty, origin);
    },
    confirm: (ctx, auth, ceremonyId, origin) => finishKeyRegistration(ctx, auth, ceremonyId, origin),
  },
  // One key at a time (`mfa key remove NAME`); the method is off when the last one goes.
  disable: (ctx, auth, request, origin) =>
    removeKey(ctx, auth, request.name ?? '', request.acknowledgeLast, request.proof, origin),
  removeAll: (ctx, accountId) => void deleteAllSecurityKeys(ctx.db, accountId),
};

function activeKeys(ctx: ServiceContext, account: AccountRow): SecurityKeyRow[] {
  const keys = listSecurityKeys(ctx.db, account.id);
  if (keys.length === 0)
    throw new NotFound(
      'no security key is registered for this account; add one with `acctsec mfa key add --name NAME`',
    );
  return keys;
}

/** `login --method key`: the password first (under the sign-in throttle), then a ceremony for the account's keys. */
export async function beginKeySignIn(
  ctx: ServiceContext,
  input: { username: string; password: string },
  rp: RelyingParty,
  origin: RequestOrigin,
): Promise<KeyCeremony> {
  const account = await checkPassword(ctx, input.username, input.password, origin);
  const keys = listSecurityKeys(ctx.db, account.id);
  if (keys.length === 0) {
    const names =
      identityFactors(ctx, account)
        .map((f) => f.id)
        .join(', ') || 'none';
    throw new InvalidInput(`"key" is not an active method for this account; use one of: ${names}`, '--method');
  }
  const options = await assertionOptions(ctx, rp, allowList(keys));
  return startCeremony(ctx, rp, 'signin', account.id, options);
}

/** A key assertion to confirm identity (sensitive changes, removing a key). */
export async function beginKeyProof(ctx: ServiceContext, auth: Auth, rp: RelyingParty): Promise<KeyCeremony> {
  const keys = activeKeys(ctx, auth.account);
  return startCeremony(ctx, rp, 'proof', auth.account.id, await assertionOptions(ctx, rp, allowList(keys)));
}

/**
 * `recover --method key`: no session and no password, so nothing in the answer may depend on the
 * account (issue #15). The options name no credential at all, for every username: the browser asks
 * the key for a discoverable credential of this site (registration asks keys to make one), and the
 * key's signature over this ceremony's challenge, by a credential registered to this username, is
 * the proof. Real credential ids, their number and transports are given out only after the password
 * (`login --method key`) or to a signed-in session (`beginKeyProof`). An unknown user, or one
 * without keys, gets the same options: a ceremony no key can finish.
 */
export async function beginKeyRecovery(ctx: ServiceContext, username: string, rp: RelyingParty): Promise<KeyCeremony> {
  const name = normalizeUsername(username);
  if (!name) throw new InvalidInput('a username is needed', '--username');
  const account = findAccountByUsername(ctx.db, name);
  const owner = account && countSecurityKeys(ctx.db, account.id) > 0 ? account.id : null;
  return startCeremony(ctx, rp, 'recover', owner, await assertionOptions(ctx, rp, []));
}

// ---- managing keys ------------------------------------------------------------------------------

/**
 * `mfa key add`: confirm identity (the password when no method is active, else a code or key of an
 * active one), then a registration ceremony for a new key under `name`.
 */
export async function beginKeyRegistration(
  ctx: ServiceContext,
  auth: Auth,
  rawName: string,
  proof: IdentityProof | undefined,
  rp: RelyingParty,
  origin: RequestOrigin,
): Promise<KeyCeremony> {
  const a = auth.account;
  const name = checkName(rawName, '--name');
  if (findSecurityKeyByName(ctx.db, a.id, name))
    throw new Conflict(`a security key named "${name}" already exists; pick another name or rename it`);
  const active = identityFactors(ctx, a).map((f) => f.id);
  await confirmIdentity(ctx, auth, proof, origin, {
    always: true,
    accept: active.length ? { password: false, methods: active } : { password: true },
    repair: true,
  });
  const existing = listSecurityKeys(ctx.db, a.id);
  const options = await (
    await webauthn()
  ).generateRegistrationOptions({
    rpName: ctx.policy.totpIssuer,
    rpID: rp.rpId,
    userName: a.username,
    userDisplayName: a.username,
    userID: userHandle(ctx, a) as never,
    timeout: CEREMONY_MS,
    attestationType: 'none',
    excludeCredentials: allowList(existing),
    authenticatorSelection: { residentKey: 'preferred', userVerification: ctx.policy.keyUserVerification },
  });
  recordActivity(ctx, a.id, 'mfa.key.registration_started', { origin, sessionId: auth.session.id, detail: { name } });
  return startCeremony(ctx, rp, 'register', a.id, options, name);
}

/** Verifies the browser's attestation and stores the key (its public key only); the first key brings recovery codes. */
export async function finishKeyRegistration(
  ctx: ServiceContext,
  auth: Auth,
  id: string,
  origin: RequestOrigin,
): Promise<KeyAdded> {
  const a = auth.account;
  const { hash, row } = findCeremonyById(ctx, id);
  if (!row || row.account_id !== a.id || row.purpose !== 'register' || row.key_name === null)
    throw new NotFound('no such security key registration; start again');
  if (row.used_at !== null) throw new Conflict('this registration was already finished');
  if (row.error !== null) throw new AuthFailed(`the browser reported: ${row.error}`, 'key_refused');
  if (row.response === null)
    throw new NotFound(
      row.expires_at <= ctx.now() ? 'the registration expired; start again' : 'the browser has not answered yet',
    );
  // As for assertions: loaded before the ceremony is used up, outside the verifier's try.
  const { verifyRegistrationResponse } = await webauthn();
  if (!consumeCeremony(ctx.db, hash, ctx.now())) throw new Conflict('this registration was already finished');
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response: JSON.parse(row.response) as RegistrationResponseJSON,
      expectedChallenge: row.challenge,
      expectedOrigin: row.origin,
      expectedRPID: row.rp_id,
      requireUserVerification: ctx.policy.keyUserVerification === 'required',
    });
  } catch (err) {
    recordActivity(ctx, a.id, 'mfa.key.registration_failed', {
      origin,
      sessionId: auth.session.id,
      detail: { name: row.key_name },
    });
    throw new AuthFailed(
      `the new key's registration did not verify (${err instanceof Error ? err.message : String(err)})`,
      'key_refused',
    );
  }
  if (!verified.verified) throw new AuthFailed("the new key's registration did not verify", 'key_refused');
  const info = verified.registrationInfo;
  const name = row.key_name;
  const key: SecurityKeyRow = {
    id: `sk_${randomBytes(5).toString('hex')}`,
    account_id: a.id,
    name,
    credential_id: info.credential.id,
    public_key: Buffer.from(info.credential.publicKey),
    counter: info.credential.counter,
    transports: JSON.stringify(info.credential.transports ?? []),
    aaguid: info.aaguid,
    backed_up: info.credentialBackedUp ? 1 : 0,
    created_at: ctx.now(),
    last_used_at: null,
  };
  const recoveryCodes = ctx.db
    .transaction(() => {
      if (findSecurityKeyByName(ctx.db, a.id, name))
        throw new Conflict(`a security key named "${name}" already exists`);
      if (findSecurityKeyByCredential(ctx.db, a.id, key.credential_id))
        throw new Conflict('this security key is already registered');
      insertSecurityKey(ctx.db, key);
      recordActivity(ctx, a.id, 'mfa.key.added', {
        origin,
        sessionId: auth.session.id,
        detail: { id: key.id, name, ...repairDetail(ctx, auth) },
      });
      const left = recoveryCodesLeft(ctx, a);
      return left === null || left === 0 ? issueRecoveryCodes(ctx, a, origin) : null;
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(ctx, a, `the security key "${name}" was added as a second factor${repairNote(ctx, auth)}`, origin),
  );
  return { key: keyView(key), recoveryCodes };
}

export function listKeys(ctx: ServiceContext, account: AccountRow): KeyView[] {
  return listSecurityKeys(ctx.db, account.id).map(keyView);
}

function keyNamed(ctx: ServiceContext, account: AccountRow, name: string): SecurityKeyRow {
  const key = findSecurityKeyByName(ctx.db, account.id, name.trim());
  if (!key) {
    const names = listSecurityKeys(ctx.db, account.id).map((k) => k.name);
    throw new NotFound(`no security key named "${name}"${names.length ? ` (yours: ${names.join(', ')})` : ''}`);
  }
  return key;
}

export function renameKey(
  ctx: ServiceContext,
  auth: Auth,
  name: string,
  rawNew: string,
  origin: RequestOrigin,
): KeyView {
  const a = auth.account;
  const key = keyNamed(ctx, a, name);
  const next = checkName(rawNew, '<new>');
  if (next === key.name) throw new Conflict(`the key is already named "${next}"`);
  if (findSecurityKeyByName(ctx.db, a.id, next)) throw new Conflict(`a security key named "${next}" already exists`);
  ctx.db
    .transaction(() => {
      renameSecurityKey(ctx.db, key.id, next);
      recordActivity(ctx, a.id, 'mfa.key.renamed', {
        origin,
        sessionId: auth.session.id,
        detail: { id: key.id, from: key.name, to: next },
      });
    })
    .immediate();
  return keyView({ ...key, name: next });
}

/**
 * `mfa key remove`: an assertion of a registered key or a code of another active method, every time
 * (SPEC §4.4); removing the last key when no other method is active needs an explicit yes, and takes
 * the recovery codes with it.
 */
export async function removeKey(
  ctx: ServiceContext,
  auth: Auth,
  name: string,
  acknowledgeLast: boolean,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<{ removed: string; remainingMethods: string[] }> {
  const a = auth.account;
  const key = keyNamed(ctx, a, name);
  const lastKey = countSecurityKeys(ctx.db, a.id) === 1;
  const remaining = lastKey
    ? assertMayDisable(ctx, a, 'key', acknowledgeLast)
    : identityFactors(ctx, a).map((f) => f.id);
  await confirmIdentity(ctx, auth, proof, origin, {
    always: true,
    accept: { password: false, methods: identityFactors(ctx, a).map((f) => f.id) },
    repair: true,
  });
  ctx.db
    .transaction(() => {
      deleteSecurityKey(ctx.db, key.id);
      if (lastKey && remaining.length === 0) removeFallbacks(ctx, a.id);
      recordActivity(ctx, a.id, 'mfa.key.removed', {
        origin,
        sessionId: auth.session.id,
        detail: { id: key.id, name: key.name, remainingMethods: remaining, ...repairDetail(ctx, auth) },
      });
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(ctx, a, `the security key "${key.name}" was removed${repairNote(ctx, auth)}`, origin),
  );
  return { removed: key.name, remainingMethods: remaining };
}
