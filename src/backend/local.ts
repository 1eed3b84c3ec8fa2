import { existsSync } from 'node:fs';
import { CODE_DEFAULT } from '../factor-kinds.js';
import type { Backend, BackendOptions } from './backend.js';
import { checkStoreFile, openStore, storeError, type Db } from '../store/db.js';
import { shownLocation } from '../database-url.js';
import { accountStatus, changePassword, changeUsername, checkInitInput, initialize } from '../service/accounts.js';
import { FACTORS } from '../service/factors.js';
import { accountActivity } from '../service/activity.js';
import { createBackground } from '../service/background.js';
import type { RequestOrigin, ServiceContext } from '../service/context.js';
import { sealOldAuditRows } from '../service/audit.js';
import { ensureKeyFile, keyringFrom, readKeyFile } from '../service/encryption.js';
import { argon2Hasher, type PasswordHasher } from '../service/password-hashing.js';
import { defaultPolicy, type Policy } from '../service/policy.js';
import { authenticate, notSignedIn, sessionViews, type Auth } from '../service/sessions.js';
import { regenerateRecoveryCodes, viewRecoveryCodes } from '../service/recovery-codes.js';
import { mfaOverview, sendFactorCode } from '../service/second-factors.js';
import { repairWindowUntil } from '../service/repair-window.js';
import { beginEmailMfa, confirmEmailMfa, disableEmailMfa, resendEmailMfa } from '../service/email-mfa.js';
import { notificationSettings, setMailFormat, setNewsletters, setOrganization } from '../service/notifications.js';
import { createMailer, type MailConfig } from '../mail/mailer.js';
import { checkIp, isAllowed, listIp } from '../service/ip-networks.js';
import { Forbidden, InvalidInput, Unavailable } from '../errors.js';
import { checkArguments, ROUTES } from './routes.js';
import {
  apiKeyStatus,
  authenticateAccessToken,
  createToken,
  deleteApiKey,
  generateApiKey,
  introspectFor,
  introspectionBatch,
  migrateApiKey,
  revokeTokenByRef,
  rotateToken,
  scopeCatalogue,
  tokenViews,
  verifyToken,
} from '../service/tokens.js';
import { beginTotpEnrollment, confirmTotpEnrollment, disableTotp } from '../service/totp.js';
import {
  beginKeyProof,
  beginKeyRecovery,
  beginKeyRegistration,
  beginKeySignIn,
  ceremonyOptions,
  ceremonyState,
  finishKeyRegistration,
  listKeys,
  removeKey,
  renameKey,
  submitCeremonyAnswer,
  type RelyingParty,
} from '../service/security-keys.js';
import { setTimeout as sleep } from 'node:timers/promises';
// Issue #20 §3 and §5: the account's address, organizations and mailing recipients.
import {
  cancelEmailChange,
  changeEmail,
  confirmEmail,
  emailView,
  sendEmailConfirmation,
  sendFirstVerification,
} from '../service/account-email.js';
import { AcctsecError } from '../errors.js';
import { QR_METHOD, QR_PHONE_METHOD } from '../recovery-qr-text.js';
import type { OAuthStorage } from '../oauth-types.js';

// The service modules that only some operations need are loaded by those operations (issue #18):
// `status`, `token list` and the other everyday commands then parse about a quarter less code at
// start-up. What every call needs (sessions, tokens, the factors, the audit log) is imported above.
const occasional = () => import('./occasional-services.js');
const signInModule = async () => (await occasional()).signIn;
const sessionControl = async () => (await occasional()).sessionControl;
const recoveryEmails = async () => (await occasional()).recoveryEmails;
const recoveryQr = async () => (await occasional()).recoveryQr;
const ipAllowList = async () => (await occasional()).ipAllowList;
const admin = async () => (await occasional()).admin;
const bulk = async () => (await occasional()).bulk;
const adminEmail = async () => (await occasional()).adminEmail;
const orgs = async () => (await occasional()).orgs;
const oauthApps = async () => (await occasional()).oauthApps;
const oauthGrants = async () => (await occasional()).oauthGrants;
import type { EmailCodeSent } from '../views.js';

export interface LocalStoreOptions {
  dbPath: string;
  /** The at-rest key file; ACCTSEC_ENCRYPTION_KEY (envKey) overrides it. */
  keyPath: string;
  envKey?: string | undefined;
  policy?: Partial<Policy>;
  hasher?: PasswordHasher;
  now?: () => number;
  mail: MailConfig;
  /**
   * Where security key ceremonies run (SPEC §4.3): the CLI starts its loopback page on first use;
   * `acctsec serve` names its own public origin. Without it, keys are unavailable.
   */
  relyingParty?: () => Promise<RelyingParty>;
  /**
   * The public origin of `acctsec serve` (--public-url), where a phone that scans a recovery QR code
   * finds the approval page (issue #20 §1). Without it, a code holds its secret alone.
   */
  recoveryPageOrigin?: string | undefined;
  /** Told when work done after an answer (mail) fails: the operator's log, never the caller. */
  log?: (line: string) => void;
}

/** Who calls: a session or (server only) a personal access token, and where from. */
export interface Credentials {
  sessionToken?: string | undefined;
  /**
   * A personal access token; the server has checked its scope for the route, except for introspection
   * (`perCaller` routes), where verifyToken checks it together with the answer.
   */
  accessToken?: string | undefined;
  /** The client address, known to the server; local calls have none (SPEC §6, documented). */
  ip?: string | undefined;
  /** Describes the client in `sessions list` (host and profile, or the user agent). */
  client?: string | undefined;
}

export interface LocalBackendOptions extends LocalStoreOptions, BackendOptions {
  client?: string;
}

/**
 * The database, key and mailer, opened once and shared by every back end made from it: one per CLI
 * run, or one per request on the server.
 */
export interface LocalStore {
  readonly location: string;
  /**
   * A back end for one caller. Its arguments are checked against the route table's schemas, as the
   * server checks a request's (issue #16: the contract suite found the two refusing bad input
   * differently); `acctsec serve`, which has just checked them, passes `checked: true`.
   */
  backend(credentials: Credentials, options?: BackendHow): Backend;
  /**
   * Throws "back end unavailable" (exit 8, 503) when the database file was removed or replaced since it
   * was opened (issue #19); nothing before the database is opened.
   */
  checkFile(): void;
  /**
   * Runs a batch of introspection calls made synchronously inside `fn` on one read of the change
   * counter, made on entry (serve answers the introspections read in one event-loop turn this way).
   */
  introspectionBatch<T>(fn: () => T): T;
  /**
   * The store of `acctsec serve`'s OAuth 2.0 / OpenID Connect provider (issue #21), loaded on first
   * use: the provider's adapter, the registered applications, the ID-token signing keys.
   */
  oauthStorage(): Promise<OAuthStorage>;
  /** Waits for the work still running after its answers (mail), then closes the database. */
  close(): Promise<void>;
}

export interface BackendHow {
  /** The arguments were checked already (by the server). */
  checked?: boolean;
  /**
   * false: the caller checks the database file around writes itself (the server, which answers many
   * reads per second); by default every call checks it after its work, before its answer.
   */
  checkFileEachCall?: boolean;
}

/** How often a call checks the database file when its caller does not ask for every call. */
const FILE_CHECK_INTERVAL_MS = 1000;

export function openLocalStore(options: LocalStoreOptions): LocalStore {
  let db: Db | undefined;
  const mailer = createMailer(options.mail);
  const policy = { ...defaultPolicy, ...options.policy };
  const hasher = options.hasher ?? argon2Hasher();
  const keyring = keyringFrom({ envKey: options.envKey, keyPath: options.keyPath });
  const now = options.now ?? Date.now;
  const background = createBackground(options.log ?? (() => undefined));
  const context = (create: boolean): ServiceContext => {
    db ??= openStore(options.dbPath, {
      create,
      afterMigrate: (migrating, applied) =>
        sealOldAuditRows(
          { db: migrating, now, policy, hasher, keyring, mailer, background, factors: FACTORS },
          applied,
        ),
    });
    const at = Date.now();
    if (at - fileCheckedAt >= FILE_CHECK_INTERVAL_MS) {
      checkStoreFile(db);
      fileCheckedAt = at;
    }
    return { db, now, policy, hasher, keyring, mailer, background, factors: FACTORS };
  };
  let fileCheckedAt = 0;
  let oauth: OAuthStorage | undefined;
  return {
    location: shownLocation(options.dbPath),
    backend: (credentials, how) => {
      const backend = localBackend(options, context, credentials, how?.checkFileEachCall !== false);
      return how?.checked ? backend : checkingArguments(backend);
    },
    checkFile: () => {
      if (db) checkStoreFile(db);
    },
    introspectionBatch: (fn) => {
      let ctx: ServiceContext;
      try {
        ctx = context(false);
      } catch {
        return fn(); // no database yet: each call meets the error on its own
      }
      return introspectionBatch(ctx, fn);
    },
    oauthStorage: async () => {
      const { createOAuthStorage } = await import('../service/oauth-storage.js');
      return (oauth ??= createOAuthStorage(() => context(false)));
    },
    close: async () => {
      await background.settled();
      db?.close();
      db = undefined;
    },
  };
}

/** The embedded back end: the service layer over a SQLite file, in this process. */
export function createLocalBackend(options: LocalBackendOptions): Backend {
  const store = openLocalStore(options);
  const backend = store.backend({ sessionToken: options.sessionToken, client: options.client });
  return { ...backend, close: () => store.close() };
}

/** Each operation's arguments checked as the server checks them, then handed over parsed. */
function checkingArguments(backend: Backend): Backend {
  const checked: Record<string, unknown> = { ...backend };
  for (const route of ROUTES) {
    const call = (backend[route.op] as (...args: unknown[]) => unknown).bind(backend);
    checked[route.op] = (...args: unknown[]) => {
      const c = checkArguments(route, args);
      if (c.ok) return call(...c.args);
      const refusal = new InvalidInput(c.message, c.field);
      // A streamed answer fails when it is read, as it does over HTTP.
      if (route.stream) {
        return {
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(refusal) }),
        };
      }
      return Promise.reject(refusal);
    };
  }
  return checked as unknown as Backend;
}

function localBackend(
  options: LocalStoreOptions,
  open: (create: boolean) => ServiceContext,
  credentials: Credentials,
  checkFileEachCall: boolean,
): Backend {
  const origin: RequestOrigin = { ip: credentials.ip, client: credentials.client };

  function context(create = false): ServiceContext {
    return open(create);
  }

  const unavailable =
    (started: number) =>
    (err: unknown): never => {
      throw storeError(err, options.dbPath, Date.now() - started);
    };

  /**
   * Every call: store errors (busy, unreadable) become "back end unavailable" with the path. Not an
   * async function: a synchronous answer (introspection's) is handed over already settled, without
   * an async frame and an await of its own on every request.
   */
  function run<T>(fn: (ctx: ServiceContext) => T | Promise<T>, create = false): Promise<T> {
    // Date.now(), not performance.now(): the first use of the global `performance` loads perf_hooks
    // (a few ms of every command's start-up, issue #18), and the wait is reported in whole seconds.
    const started = Date.now();
    try {
      const ctx = context(create);
      const result = fn(ctx);
      if (checkFileEachCall) {
        // No answer for work that went to a file no longer at the path (issue #19).
        return Promise.resolve(result)
          .then((value) => {
            checkStoreFile(ctx.db);
            return value;
          })
          .catch(unavailable(started));
      }
      return result instanceof Promise ? result.catch(unavailable(started)) : Promise.resolve(result);
    } catch (err) {
      return Promise.reject(storeError(err, options.dbPath, Date.now() - started));
    }
  }

  /**
   * A call about "my account": the session (or access token), and, where the address is known, the
   * account's IP list for every request, not just at sign-in (SPEC §6).
   */
  function me(ctx: ServiceContext): Auth {
    const auth = credentials.accessToken
      ? authenticateAccessToken(ctx, credentials.accessToken, origin.ip)
      : authenticate(ctx, credentials.sessionToken);
    if (origin.ip && !isAllowed(ctx, auth.account, origin.ip)) {
      throw new Forbidden(`requests from ${origin.ip} are not allowed by this account's IP restriction`);
    }
    return auth;
  }

  function authed<T>(fn: (ctx: ServiceContext, auth: Auth) => T | Promise<T>): Promise<T> {
    if (!credentials.sessionToken && !credentials.accessToken) return Promise.reject(notSignedIn());
    return run((ctx) => fn(ctx, me(ctx)));
  }

  /** run() with a service module loaded on first use. */
  function runWith<M, T>(load: () => Promise<M>, fn: (m: M, ctx: ServiceContext) => T | Promise<T>): Promise<T> {
    return load().then((m) => run((ctx) => fn(m, ctx)));
  }

  /** authed() with a service module loaded on first use. */
  function authedWith<M, T>(
    load: () => Promise<M>,
    fn: (m: M, ctx: ServiceContext, auth: Auth) => T | Promise<T>,
  ): Promise<T> {
    return load().then((m) => authed((ctx, me) => fn(m, ctx, me)));
  }

  async function relyingParty(): Promise<RelyingParty> {
    if (!options.relyingParty)
      throw new Unavailable('security keys need a page for the browser, and this back end has none', 'no_key_page');
    return options.relyingParty();
  }

  return {
    // Shown and saved with a session (the profile): a database URL without its password.
    location: shownLocation(options.dbPath),

    init: async (input) => {
      // Judged before the database and key files exist: a refused init creates nothing.
      await checkInitInput(input, { ...defaultPolicy, ...options.policy });
      // A key file that is there but unusable (unreadable, open to others, malformed) refuses init
      // before any file is made. A missing one is made only once the database is known to have no
      // account: next to an existing database, a new key would be the wrong one (issue #19).
      if (!options.envKey && existsSync(options.keyPath)) readKeyFile(options.keyPath);
      return run(async (ctx) => {
        const { account, session } = await initialize(ctx, input, origin, () => {
          if (!options.envKey) ensureKeyFile(options.keyPath);
        });
        // Issue #20 §3: a code to confirm the first address; the account stands whether or not it arrives.
        let verification: { emailCode: EmailCodeSent } | { warnings: string[] };
        try {
          verification = { emailCode: await sendFirstVerification(ctx, account) };
        } catch (err) {
          if (!(err instanceof AcctsecError) || err.slug !== 'mail_failed') throw err;
          verification = {
            warnings: [`${err.message}; ask for the address code later with \`acctsec email confirm --send-code\``],
          };
        }
        return {
          account: { username: account.username, email: account.email, role: account.role },
          session,
          database: shownLocation(options.dbPath),
          keyFile: options.envKey ? 'ACCTSEC_ENCRYPTION_KEY' : options.keyPath,
          ...verification,
        };
      }, true);
    },

    signIn: (input) => runWith(signInModule, (m, ctx) => m.signIn(ctx, input, origin)),

    signOut: () => authedWith(sessionControl, (m, ctx, me) => m.signOut(ctx, me, origin)),

    status: () => authed((ctx, me) => accountStatus(ctx, me)),

    activity: (limit) => authed((ctx, me) => accountActivity(ctx, me.account.id, limit)),

    listSessions: () => authed((ctx, me) => sessionViews(ctx, me)),

    revokeSession: (id, proof) =>
      authedWith(sessionControl, (m, ctx, me) => m.revokeSessionById(ctx, me, id, proof, origin)),

    revokeOtherSessions: (proof) =>
      authedWith(sessionControl, (m, ctx, me) => m.revokeOtherSessions(ctx, me, proof, origin)),

    changePassword: (input) => authed((ctx, me) => changePassword(ctx, me, input, origin)),

    changeUsername: (username, proof) => authed((ctx, me) => changeUsername(ctx, me, username, proof, origin)),

    mfaStatus: () =>
      // Issue #20 §2: with the session's repair window.
      authed((ctx, me) => ({ ...mfaOverview(ctx, me.account), repairWindowUntil: repairWindowUntil(ctx, me) })),

    beginTotp: (proof) => authed((ctx, me) => beginTotpEnrollment(ctx, me, proof, origin)),

    confirmTotp: (code) => authed((ctx, me) => confirmTotpEnrollment(ctx, me, code, origin)),

    disableTotp: (code, acknowledgeLast) => authed((ctx, me) => disableTotp(ctx, me, code, acknowledgeLast, origin)),

    viewRecoveryCodes: (code, method) =>
      authed((ctx, me) => viewRecoveryCodes(ctx, me, code, origin, method ?? CODE_DEFAULT)),

    regenerateRecoveryCodes: (code, method) =>
      authed((ctx, me) => regenerateRecoveryCodes(ctx, me, code, origin, method ?? CODE_DEFAULT)),

    sendSignInCode: (input) => runWith(signInModule, (m, ctx) => m.sendSignInCode(ctx, input, origin)),

    sendFactorCode: (method) => authed((ctx, me) => sendFactorCode(ctx, me.account, method, origin)),

    beginEmailMfa: (proof) => authed((ctx, me) => beginEmailMfa(ctx, me, proof, origin)),

    resendEmailMfa: () => authed((ctx, me) => resendEmailMfa(ctx, me, origin)),

    confirmEmailMfa: (code) => authed((ctx, me) => confirmEmailMfa(ctx, me, code, origin)),

    disableEmailMfa: (code, acknowledgeLast) =>
      authed((ctx, me) => disableEmailMfa(ctx, me, code, acknowledgeLast, origin)),

    beginKeyRegistration: async (name, proof) => {
      const rp = await relyingParty();
      return authed((ctx, me) => beginKeyRegistration(ctx, me, name, proof, rp, origin));
    },

    finishKeyRegistration: (id) => authed((ctx, me) => finishKeyRegistration(ctx, me, id, origin)),

    beginKeySignIn: async (input) => {
      const rp = await relyingParty();
      return run((ctx) => beginKeySignIn(ctx, input, rp, origin));
    },

    beginKeyProof: async () => {
      const rp = await relyingParty();
      return authed((ctx, me) => beginKeyProof(ctx, me, rp));
    },

    beginKeyRecovery: async (username) => {
      const rp = await relyingParty();
      return run((ctx) => beginKeyRecovery(ctx, username, rp));
    },

    keyCeremonyOptions: (id) => run((ctx) => ceremonyOptions(ctx, id)),

    submitKeyCeremony: (id, answer) => run((ctx) => submitCeremonyAnswer(ctx, id, answer ?? {})),

    awaitKeyCeremony: async (id, waitMs) => {
      // The answer arrives through another connection (the page's): look every 100 ms.
      const until = Date.now() + Math.min(Math.max(Number(waitMs) || 0, 0), 20_000);
      for (;;) {
        const state = await run((ctx) => ceremonyState(ctx, id));
        if (state.state !== 'waiting' || Date.now() >= until) return state;
        await sleep(100);
      }
    },

    listKeys: () => authed((ctx, me) => listKeys(ctx, me.account)),

    renameKey: (name, newName) => authed((ctx, me) => renameKey(ctx, me, name, newName, origin)),

    removeKey: (name, acknowledgeLast, proof) =>
      authed((ctx, me) => removeKey(ctx, me, name, Boolean(acknowledgeLast), proof, origin)),

    notificationSettings: () => authed((ctx, me) => notificationSettings(ctx, me.account)),

    setNotificationFormat: (format) => authed((ctx, me) => setMailFormat(ctx, me, format)),

    setNewsletters: (lists, subscribed) => authed((ctx, me) => setNewsletters(ctx, me, lists, subscribed)),

    setOrganizationNotifications: (org, on) => authed((ctx, me) => setOrganization(ctx, me, org, on)),

    listRecoveryEmails: () => authedWith(recoveryEmails, (m, ctx, me) => m.listRecoveryEmails(ctx, me.account)),

    addRecoveryEmail: (address, proof) =>
      authedWith(recoveryEmails, (m, ctx, me) => m.addRecoveryEmail(ctx, me, address, proof, origin)),

    confirmRecoveryEmail: (address, code) =>
      authedWith(recoveryEmails, (m, ctx, me) => m.confirmRecoveryEmail(ctx, me, address, code, origin)),

    removeRecoveryEmail: (address, proof) =>
      authedWith(recoveryEmails, (m, ctx, me) => m.removeRecoveryEmail(ctx, me, address, proof, origin)),

    sendRecoveryCode: (username) => runWith(recoveryEmails, (m, ctx) => m.sendRecoveryCode(ctx, username)),

    recover: (input) =>
      input.method === QR_METHOD || input.method === QR_PHONE_METHOD
        ? runWith(recoveryQr, (m, ctx) => m.recoverWithQr(ctx, input, origin))
        : runWith(recoveryEmails, (m, ctx) => m.recoverWithCode(ctx, input, origin)),

    // Recovery QR codes (issue #20 §1).
    createRecoveryQr: (proof) =>
      authedWith(recoveryQr, (m, ctx, me) => m.createRecoveryQr(ctx, me, proof, origin, options.recoveryPageOrigin)),

    recoveryQrStatus: () => authedWith(recoveryQr, (m, ctx, me) => m.recoveryQrStatus(ctx, me.account)),

    revokeRecoveryQr: (proof) => authedWith(recoveryQr, (m, ctx, me) => m.revokeRecoveryQr(ctx, me, proof, origin)),

    beginQrRecovery: (username) =>
      runWith(recoveryQr, (m, ctx) => m.beginQrRecovery(ctx, username, origin, options.recoveryPageOrigin)),

    awaitQrRecovery: async (id, waitMs) => {
      // The approval arrives through another connection (the phone's): look every 100 ms.
      const until = Date.now() + Math.min(Math.max(Number(waitMs) || 0, 0), 20_000);
      for (;;) {
        const state = await runWith(recoveryQr, (m, ctx) => m.qrRecoveryState(ctx, id));
        if (state.state !== 'waiting' || Date.now() >= until) return state;
        await sleep(100);
      }
    },

    qrPendingRequests: (secret) => runWith(recoveryQr, (m, ctx) => m.qrPendingRequests(ctx, secret, origin)),

    approveQrRecovery: (secret, requestId) =>
      runWith(recoveryQr, (m, ctx) => m.approveQrRecovery(ctx, secret, requestId, origin)),

    listIp: () => authed((ctx, me) => listIp(ctx, me.account)),

    checkIp: (address) => authed((ctx, me) => checkIp(ctx, me.account, address)),

    addIp: (entries, ipOptions, proof) =>
      authedWith(ipAllowList, (m, ctx, me) => m.addIp(ctx, me, entries, ipOptions, proof, origin)),

    removeIp: (entries, ipOptions, proof) =>
      authedWith(ipAllowList, (m, ctx, me) => m.removeIp(ctx, me, entries, ipOptions, proof, origin)),

    setIp: (entries, ipOptions, proof) =>
      authedWith(ipAllowList, (m, ctx, me) => m.setIp(ctx, me, entries, ipOptions, proof, origin)),

    clearIp: (proof) => authedWith(ipAllowList, (m, ctx, me) => m.clearIp(ctx, me, proof, origin)),

    tokenScopes: () => run((ctx) => scopeCatalogue(ctx)),

    createToken: (request, proof) => authed((ctx, me) => createToken(ctx, me, request, proof, origin)),

    listTokens: () => authed((ctx, me) => tokenViews(ctx, me.account)),

    revokeToken: (ref, proof) => authed((ctx, me) => revokeTokenByRef(ctx, me, ref, proof, origin)),

    rotateToken: (ref, proof) => authed((ctx, me) => rotateToken(ctx, me, ref, proof, origin)),

    // Over HTTP the caller authenticates (RFC 7662 §2.1): a session, or an access token with the scope
    // tokens:introspect, checked here with the answer in one snapshot. Locally nobody signs in to read
    // the database at hand.
    verifyToken: (token, ip) => {
      const { accessToken, sessionToken } = credentials;
      if (accessToken) return run((ctx) => introspectFor(ctx, { token: accessToken, ip: origin.ip }, token, ip));
      return sessionToken
        ? authed((ctx, me) => verifyToken(ctx, token, ip, undefined, me.account.id))
        : run((ctx) => verifyToken(ctx, token, ip));
    },

    apiKeyStatus: () => authed((ctx, me) => apiKeyStatus(ctx, me.account)),

    generateApiKey: (proof) => authed((ctx, me) => generateApiKey(ctx, me, proof, origin)),

    deleteApiKey: (proof) => authed((ctx, me) => deleteApiKey(ctx, me, proof, origin)),

    migrateApiKey: (name, expires, proof) => authed((ctx, me) => migrateApiKey(ctx, me, name, expires, proof, origin)),

    async *adminListUsers(role) {
      // A cursor over the store: each account is handed on as it is read.
      const { listUsers } = await admin();
      const ctx = context();
      try {
        yield* listUsers(ctx, me(ctx), role, origin);
      } catch (err) {
        throw storeError(err, options.dbPath);
      }
    },

    adminShowUser: (username) => authedWith(admin, (m, ctx, me) => m.showUser(ctx, me, username, origin)),

    adminCreateUser: (input) => authedWith(admin, (m, ctx, me) => m.createUser(ctx, me, input, origin)),

    adminImportUsers: (input) => authedWith(bulk, (m, ctx, me) => m.importUsers(ctx, me, input, origin)),

    async *adminExportUsers(role) {
      const { exportUsers } = await bulk();
      const ctx = context();
      try {
        yield* exportUsers(ctx, me(ctx), role, origin);
      } catch (err) {
        throw storeError(err, options.dbPath);
      }
    },

    adminSetRole: (username, role, input) =>
      authedWith(admin, (m, ctx, me) => m.setUserRole(ctx, me, username, role, input, origin)),

    adminResetPassword: (username, input) =>
      authedWith(admin, (m, ctx, me) => m.resetPassword(ctx, me, username, input, origin)),

    adminResetMfa: (username, input) => authedWith(admin, (m, ctx, me) => m.resetMfa(ctx, me, username, input, origin)),

    adminLock: (username, locked, input) =>
      authedWith(admin, (m, ctx, me) => m.lockUser(ctx, me, username, locked, input, origin)),

    adminUnthrottle: (username, input) =>
      authedWith(admin, (m, ctx, me) => m.unthrottleUser(ctx, me, username, input, origin)),

    adminRevokeSessions: (username, input) =>
      authedWith(admin, (m, ctx, me) => m.revokeUserSessions(ctx, me, username, input, origin)),

    adminIpShow: (username) => authedWith(admin, (m, ctx, me) => m.showUserIp(ctx, me, username, origin)),

    adminIpClear: (username, input) =>
      authedWith(admin, (m, ctx, me) => m.clearUserIp(ctx, me, username, input, origin)),

    adminAudit: (filter) => authedWith(admin, (m, ctx, me) => m.auditEntries(ctx, me, filter, origin)),

    adminVerifyAudit: (head) => authedWith(admin, (m, ctx, me) => m.verifyAuditLog(ctx, me, origin, head)),

    adminAuditHead: () => authedWith(admin, (m, ctx, me) => m.auditLogHead(ctx, me, origin)),

    recoverWithToken: (input) => runWith(admin, (m, ctx) => m.recoverWithResetToken(ctx, input, origin)),

    // Issue #20 §3: the account's own address.
    emailShow: () => authed((ctx, me) => emailView(ctx, me.account)),

    changeEmail: (address, proof) => authed((ctx, me) => changeEmail(ctx, me, address, proof, origin)),

    sendEmailConfirmation: () => authed((ctx, me) => sendEmailConfirmation(ctx, me, origin)),

    confirmEmail: (code) => authed((ctx, me) => confirmEmail(ctx, me, code, origin)),

    cancelEmailChange: () => authed((ctx, me) => cancelEmailChange(ctx, me, origin)),

    adminSetEmail: (username, address, input) =>
      authedWith(adminEmail, (m, ctx, me) => m.adminSetEmail(ctx, me, username, address, input, origin)),

    // Issue #20 §5: organizations and mailing recipients.
    adminCreateOrg: (name, input) => authedWith(orgs, (m, ctx, me) => m.adminCreateOrg(ctx, me, name, input, origin)),

    adminAddOrgMember: (org, username, input) =>
      authedWith(orgs, (m, ctx, me) => m.adminAddOrgMember(ctx, me, org, username, input, origin)),

    adminRemoveOrgMember: (org, username, input) =>
      authedWith(orgs, (m, ctx, me) => m.adminRemoveOrgMember(ctx, me, org, username, input, origin)),

    adminListOrgs: () => authedWith(orgs, (m, ctx, me) => m.adminListOrgs(ctx, me, origin)),

    adminRecipients: (query) => authedWith(orgs, (m, ctx, me) => m.adminRecipients(ctx, me, query, origin)),

    // Issue #21: OAuth applications.
    createApp: (input, proof) => authedWith(oauthApps, (m, ctx, me) => m.createApp(ctx, me, input, proof, origin)),

    listApps: () => authedWith(oauthApps, (m, ctx, me) => m.listMyApps(ctx, me)),

    showApp: (app) => authedWith(oauthApps, (m, ctx, me) => m.showApp(ctx, me, app)),

    rotateAppSecret: (app, proof) =>
      authedWith(oauthApps, (m, ctx, me) => m.rotateAppSecret(ctx, me, app, proof, origin)),

    deleteApp: (app, proof) => authedWith(oauthApps, (m, ctx, me) => m.deleteApp(ctx, me, app, proof, origin)),

    authorizedApps: () => authedWith(oauthGrants, (m, ctx, me) => m.authorizedApps(ctx, me)),

    revokeAuthorizedApp: (app) => authedWith(oauthGrants, (m, ctx, me) => m.revokeAuthorizedApp(ctx, me, app, origin)),

    adminListApps: () => authedWith(oauthApps, (m, ctx, me) => m.adminListApps(ctx, me, origin)),

    adminSetAppDisabled: (clientId, disabled, input) =>
      authedWith(oauthApps, (m, ctx, me) => m.adminSetAppDisabled(ctx, me, clientId, disabled, input, origin)),

    adminRotateOAuthKeys: (input) =>
      authedWith(oauthGrants, (m, ctx, me) => m.rotateOAuthKeys(ctx, me, input.reason, origin)),

    close: async () => undefined,
  };
}
