import type { Backend, BackendOptions } from './backend.js';
import { openStore, storeError, type Db } from '../store/db.js';
import { accountStatus, changePassword, changeUsername, initialize } from '../service/accounts.js';
import { accountActivity } from '../service/activity.js';
import type { RequestOrigin, ServiceContext } from '../service/context.js';
import { ensureKeyFile, keyringFrom } from '../service/encryption.js';
import { argon2Hasher, type PasswordHasher } from '../service/password-hashing.js';
import { defaultPolicy, type Policy } from '../service/policy.js';
import { revokeOtherSessions, revokeSessionById, signOut } from '../service/session-control.js';
import { authenticate, notSignedIn, sessionViews, type Auth } from '../service/sessions.js';
import { regenerateRecoveryCodes, viewRecoveryCodes } from '../service/recovery-codes.js';
import { mfaOverview, sendFactorCode } from '../service/second-factors.js';
import { sendSignInCode, signIn } from '../service/sign-in.js';
import { beginEmailMfa, confirmEmailMfa, disableEmailMfa, resendEmailMfa } from '../service/email-mfa.js';
import { notificationSettings, setMailFormat, setNewsletters, setOrganization } from '../service/notifications.js';
import { addRecoveryEmail, confirmRecoveryEmail, listRecoveryEmails, recoverWithCode, removeRecoveryEmail, sendRecoveryCode } from '../service/recovery-emails.js';
import { createMailer, type MailConfig } from '../mail/mailer.js';
import { addIp, checkIp, clearIp, listIp, removeIp, setIp } from '../service/ip-allow-list.js';
import {
  auditEntries,
  createUser,
  listUsers,
  lockUser,
  recoverWithResetToken,
  resetMfa,
  resetPassword,
  revokeUserSessions,
  setUserRole,
  showUser,
  verifyAuditLog,
} from '../service/admin.js';
import {
  apiKeyStatus,
  createToken,
  deleteApiKey,
  generateApiKey,
  migrateApiKey,
  revokeTokenByRef,
  rotateToken,
  scopeCatalogue,
  tokenViews,
  verifyToken,
} from '../service/tokens.js';
import { beginTotpEnrollment, confirmTotpEnrollment, disableTotp } from '../service/totp.js';

export interface LocalBackendOptions extends BackendOptions {
  dbPath: string;
  /** The at-rest key file; ACCTSEC_ENCRYPTION_KEY (envKey) overrides it. */
  keyPath: string;
  envKey?: string | undefined;
  policy?: Partial<Policy>;
  hasher?: PasswordHasher;
  now?: () => number;
  /** Describes this client in `sessions list` (host and profile). */
  client?: string;
  mail: MailConfig;
}

/** The embedded back end: the service layer over a SQLite file, in this process. */
export function createLocalBackend(options: LocalBackendOptions): Backend {
  let db: Db | undefined;
  const mailer = createMailer(options.mail);
  // Local calls have no client address: IP restriction does not apply to them (SPEC §6, documented).
  const origin: RequestOrigin = { client: options.client };

  function context(create = false): ServiceContext {
    db ??= openStore(options.dbPath, { create });
    return {
      db,
      now: options.now ?? Date.now,
      policy: { ...defaultPolicy, ...options.policy },
      hasher: options.hasher ?? argon2Hasher(),
      keyring: keyringFrom({ envKey: options.envKey, keyPath: options.keyPath }),
      mailer,
    };
  }

  /** Every call: store errors (busy, unreadable) become "back end unavailable" with the path. */
  async function run<T>(fn: (ctx: ServiceContext) => T | Promise<T>, create = false): Promise<T> {
    try {
      return await fn(context(create));
    } catch (err) {
      throw storeError(err, options.dbPath);
    }
  }

  /** A call about "my account": without a session there is nothing to open. */
  function authed<T>(fn: (ctx: ServiceContext, auth: Auth) => T | Promise<T>): Promise<T> {
    if (!options.sessionToken) return Promise.reject(notSignedIn());
    return run((ctx) => fn(ctx, authenticate(ctx, options.sessionToken)));
  }

  return {
    location: options.dbPath,

    init: (input) =>
      run(async (ctx) => {
        if (!options.envKey) ensureKeyFile(options.keyPath);
        const { account, session } = await initialize(ctx, input, origin);
        return {
          account: { username: account.username, email: account.email, role: account.role },
          session,
          database: options.dbPath,
          keyFile: options.envKey ? 'ACCTSEC_ENCRYPTION_KEY' : options.keyPath,
        };
      }, true),

    signIn: (input) => run((ctx) => signIn(ctx, input, origin)),

    signOut: () => authed((ctx, me) => signOut(ctx, me, origin)),

    status: () => authed((ctx, me) => accountStatus(ctx, me)),

    activity: (limit) => authed((ctx, me) => accountActivity(ctx, me.account.id, limit)),

    listSessions: () => authed((ctx, me) => sessionViews(ctx, me)),

    revokeSession: (id, proof) => authed((ctx, me) => revokeSessionById(ctx, me, id, proof, origin)),

    revokeOtherSessions: (proof) => authed((ctx, me) => revokeOtherSessions(ctx, me, proof, origin)),

    changePassword: (input) => authed((ctx, me) => changePassword(ctx, me, input, origin)),

    changeUsername: (username, proof) => authed((ctx, me) => changeUsername(ctx, me, username, proof, origin)),

    mfaStatus: () => authed((ctx, me) => mfaOverview(ctx, me.account)),

    beginTotp: (proof) => authed((ctx, me) => beginTotpEnrollment(ctx, me, proof, origin)),

    confirmTotp: (code) => authed((ctx, me) => confirmTotpEnrollment(ctx, me, code, origin)),

    disableTotp: (code, acknowledgeLast) => authed((ctx, me) => disableTotp(ctx, me, code, acknowledgeLast, origin)),

    viewRecoveryCodes: (code) => authed((ctx, me) => viewRecoveryCodes(ctx, me, code, origin)),

    regenerateRecoveryCodes: (code) => authed((ctx, me) => regenerateRecoveryCodes(ctx, me, code, origin)),

    sendSignInCode: (input) => run((ctx) => sendSignInCode(ctx, input, origin)),

    sendFactorCode: (method) => authed((ctx, me) => sendFactorCode(ctx, me.account, method, origin)),

    beginEmailMfa: (proof) => authed((ctx, me) => beginEmailMfa(ctx, me, proof, origin)),

    resendEmailMfa: () => authed((ctx, me) => resendEmailMfa(ctx, me, origin)),

    confirmEmailMfa: (code) => authed((ctx, me) => confirmEmailMfa(ctx, me, code, origin)),

    disableEmailMfa: (code, acknowledgeLast) => authed((ctx, me) => disableEmailMfa(ctx, me, code, acknowledgeLast, origin)),

    notificationSettings: () => authed((ctx, me) => notificationSettings(ctx, me.account)),

    setNotificationFormat: (format) => authed((ctx, me) => setMailFormat(ctx, me, format)),

    setNewsletters: (lists, subscribed) => authed((ctx, me) => setNewsletters(ctx, me, lists, subscribed)),

    setOrganizationNotifications: (org, on) => authed((ctx, me) => setOrganization(ctx, me, org, on)),

    listRecoveryEmails: () => authed((ctx, me) => listRecoveryEmails(ctx, me.account)),

    addRecoveryEmail: (address, proof) => authed((ctx, me) => addRecoveryEmail(ctx, me, address, proof, origin)),

    confirmRecoveryEmail: (address, code) => authed((ctx, me) => confirmRecoveryEmail(ctx, me, address, code, origin)),

    removeRecoveryEmail: (address, proof) => authed((ctx, me) => removeRecoveryEmail(ctx, me, address, proof, origin)),

    sendRecoveryCode: (username) => run((ctx) => sendRecoveryCode(ctx, username)),

    recover: (input) => run((ctx) => recoverWithCode(ctx, input, origin)),

    listIp: () => authed((ctx, me) => listIp(ctx, me.account)),

    checkIp: (address) => authed((ctx, me) => checkIp(ctx, me.account, address)),

    addIp: (entries, ipOptions, proof) => authed((ctx, me) => addIp(ctx, me, entries, ipOptions, proof, origin)),

    removeIp: (entries, ipOptions, proof) => authed((ctx, me) => removeIp(ctx, me, entries, ipOptions, proof, origin)),

    setIp: (entries, ipOptions, proof) => authed((ctx, me) => setIp(ctx, me, entries, ipOptions, proof, origin)),

    clearIp: (proof) => authed((ctx, me) => clearIp(ctx, me, proof, origin)),

    tokenScopes: () => run((ctx) => scopeCatalogue(ctx)),

    createToken: (request, proof) => authed((ctx, me) => createToken(ctx, me, request, proof, origin)),

    listTokens: () => authed((ctx, me) => tokenViews(ctx, me.account)),

    revokeToken: (ref, proof) => authed((ctx, me) => revokeTokenByRef(ctx, me, ref, proof, origin)),

    rotateToken: (ref, proof) => authed((ctx, me) => rotateToken(ctx, me, ref, proof, origin)),

    verifyToken: (token, ip) => run((ctx) => verifyToken(ctx, token, ip)),

    apiKeyStatus: () => authed((ctx, me) => apiKeyStatus(ctx, me.account)),

    generateApiKey: (proof) => authed((ctx, me) => generateApiKey(ctx, me, proof, origin)),

    deleteApiKey: (proof) => authed((ctx, me) => deleteApiKey(ctx, me, proof, origin)),

    migrateApiKey: (name, expires, proof) => authed((ctx, me) => migrateApiKey(ctx, me, name, expires, proof, origin)),

    async *adminListUsers(role) {
      // A cursor over the store: each account is handed on as it is read.
      const ctx = context();
      const me = authenticate(ctx, options.sessionToken);
      try {
        yield* listUsers(ctx, me, role, origin);
      } catch (err) {
        throw storeError(err, options.dbPath);
      }
    },

    adminShowUser: (username) => authed((ctx, me) => showUser(ctx, me, username, origin)),

    adminCreateUser: (input) => authed((ctx, me) => createUser(ctx, me, input, origin)),

    adminSetRole: (username, role, input) => authed((ctx, me) => setUserRole(ctx, me, username, role, input, origin)),

    adminResetPassword: (username, input) => authed((ctx, me) => resetPassword(ctx, me, username, input, origin)),

    adminResetMfa: (username, input) => authed((ctx, me) => resetMfa(ctx, me, username, input, origin)),

    adminLock: (username, locked, input) => authed((ctx, me) => lockUser(ctx, me, username, locked, input, origin)),

    adminRevokeSessions: (username, input) => authed((ctx, me) => revokeUserSessions(ctx, me, username, input, origin)),

    adminAudit: (filter) => authed((ctx, me) => auditEntries(ctx, me, filter, origin)),

    adminVerifyAudit: () => authed((ctx, me) => verifyAuditLog(ctx, me, origin)),

    recoverWithToken: (input) => run((ctx) => recoverWithResetToken(ctx, input, origin)),

    close: async () => {
      db?.close();
      db = undefined;
    },
  };
}
