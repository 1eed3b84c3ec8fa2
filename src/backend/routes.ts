import type { Backend } from './backend.js';

// The HTTP API of `acctsec serve` (SPEC §10), one table for both sides: the server dispatches each
// route to the Backend operation of the same name, and the remote back end sends each operation to
// its route. `params` name the operation's arguments in order: JSON body fields for POST, query
// parameters (JSON-encoded) for GET.

export type Operation = Exclude<keyof Backend, 'location' | 'close'>;

/**
 * Who may call: anyone (`none`), a signed-in session only (`session`: password, MFA, token and admin
 * changes, SPEC §10), or a session or a personal access token with the scope.
 */
export type RouteAuth = 'none' | 'session' | { scope: string };

export interface Route {
  op: Operation;
  method: 'GET' | 'POST';
  path: string;
  params: string[];
  auth: RouteAuth;
  /** Failed calls count toward the per-address limit (429): sign-in, codes, introspection. */
  limited?: boolean;
  /** The answer is a stream of JSON lines (NDJSON), not one document. */
  stream?: boolean;
}

const READ = { scope: 'account:read' } as const;

export const ROUTES: Route[] = [
  { op: 'init', method: 'POST', path: '/v1/init', params: ['input'], auth: 'none' },
  { op: 'signIn', method: 'POST', path: '/v1/sessions', params: ['input'], auth: 'none', limited: true },
  { op: 'sendSignInCode', method: 'POST', path: '/v1/sessions/code', params: ['input'], auth: 'none', limited: true },
  { op: 'signOut', method: 'POST', path: '/v1/sessions/current/end', params: [], auth: 'session' },
  { op: 'listSessions', method: 'GET', path: '/v1/sessions', params: [], auth: READ },
  { op: 'revokeSession', method: 'POST', path: '/v1/sessions/revoke', params: ['id', 'proof'], auth: 'session', limited: true },
  { op: 'revokeOtherSessions', method: 'POST', path: '/v1/sessions/revoke-others', params: ['proof'], auth: 'session', limited: true },

  { op: 'status', method: 'GET', path: '/v1/account', params: [], auth: READ },
  { op: 'activity', method: 'GET', path: '/v1/activity', params: ['limit'], auth: READ },
  { op: 'changePassword', method: 'POST', path: '/v1/account/password', params: ['input'], auth: 'session', limited: true },
  { op: 'changeUsername', method: 'POST', path: '/v1/account/username', params: ['username', 'proof'], auth: 'session', limited: true },

  { op: 'mfaStatus', method: 'GET', path: '/v1/mfa', params: [], auth: READ },
  { op: 'sendFactorCode', method: 'POST', path: '/v1/mfa/code', params: ['method'], auth: 'session' },
  { op: 'beginTotp', method: 'POST', path: '/v1/mfa/totp/enable', params: ['proof'], auth: 'session', limited: true },
  { op: 'confirmTotp', method: 'POST', path: '/v1/mfa/totp/confirm', params: ['code'], auth: 'session', limited: true },
  { op: 'disableTotp', method: 'POST', path: '/v1/mfa/totp/disable', params: ['code', 'acknowledgeLast'], auth: 'session', limited: true },
  { op: 'beginEmailMfa', method: 'POST', path: '/v1/mfa/email/enable', params: ['proof'], auth: 'session', limited: true },
  { op: 'resendEmailMfa', method: 'POST', path: '/v1/mfa/email/resend', params: [], auth: 'session' },
  { op: 'confirmEmailMfa', method: 'POST', path: '/v1/mfa/email/confirm', params: ['code'], auth: 'session', limited: true },
  { op: 'disableEmailMfa', method: 'POST', path: '/v1/mfa/email/disable', params: ['code', 'acknowledgeLast'], auth: 'session', limited: true },
  { op: 'viewRecoveryCodes', method: 'POST', path: '/v1/recovery-codes/view', params: ['code', 'method'], auth: 'session', limited: true },
  { op: 'regenerateRecoveryCodes', method: 'POST', path: '/v1/recovery-codes/regenerate', params: ['code', 'method'], auth: 'session', limited: true },

  { op: 'beginKeyRegistration', method: 'POST', path: '/v1/mfa/keys/register', params: ['name', 'proof'], auth: 'session', limited: true },
  { op: 'finishKeyRegistration', method: 'POST', path: '/v1/mfa/keys/register/finish', params: ['ceremonyId'], auth: 'session', limited: true },
  { op: 'beginKeyProof', method: 'POST', path: '/v1/mfa/keys/assert', params: [], auth: 'session' },
  { op: 'listKeys', method: 'GET', path: '/v1/mfa/keys', params: [], auth: READ },
  { op: 'renameKey', method: 'POST', path: '/v1/mfa/keys/rename', params: ['name', 'newName'], auth: 'session' },
  { op: 'removeKey', method: 'POST', path: '/v1/mfa/keys/remove', params: ['name', 'acknowledgeLast', 'proof'], auth: 'session', limited: true },
  { op: 'beginKeySignIn', method: 'POST', path: '/v1/sessions/key', params: ['input'], auth: 'none', limited: true },
  { op: 'beginKeyRecovery', method: 'POST', path: '/v1/recover/key', params: ['username'], auth: 'none', limited: true },
  // The ceremony page's calls (POST, so the id stays out of URLs and logs).
  { op: 'keyCeremonyOptions', method: 'POST', path: '/v1/keys/ceremony/options', params: ['ceremonyId'], auth: 'none', limited: true },
  { op: 'submitKeyCeremony', method: 'POST', path: '/v1/keys/ceremony/answer', params: ['ceremonyId', 'answer'], auth: 'none', limited: true },
  { op: 'awaitKeyCeremony', method: 'POST', path: '/v1/keys/ceremony/wait', params: ['ceremonyId', 'waitMs'], auth: 'none', limited: true },

  { op: 'notificationSettings', method: 'GET', path: '/v1/notifications', params: [], auth: READ },
  { op: 'setNotificationFormat', method: 'POST', path: '/v1/notifications/format', params: ['format'], auth: { scope: 'notifications:write' } },
  { op: 'setNewsletters', method: 'POST', path: '/v1/notifications/newsletters', params: ['lists', 'subscribed'], auth: { scope: 'notifications:write' } },
  { op: 'setOrganizationNotifications', method: 'POST', path: '/v1/notifications/organizations', params: ['org', 'on'], auth: { scope: 'notifications:write' } },

  { op: 'listRecoveryEmails', method: 'GET', path: '/v1/recovery/emails', params: [], auth: READ },
  { op: 'addRecoveryEmail', method: 'POST', path: '/v1/recovery/emails/add', params: ['address', 'proof'], auth: 'session', limited: true },
  { op: 'confirmRecoveryEmail', method: 'POST', path: '/v1/recovery/emails/confirm', params: ['address', 'code'], auth: 'session', limited: true },
  { op: 'removeRecoveryEmail', method: 'POST', path: '/v1/recovery/emails/remove', params: ['address', 'proof'], auth: 'session', limited: true },
  { op: 'sendRecoveryCode', method: 'POST', path: '/v1/recover/code', params: ['username'], auth: 'none', limited: true },
  { op: 'recover', method: 'POST', path: '/v1/recover', params: ['input'], auth: 'none', limited: true },
  { op: 'recoverWithToken', method: 'POST', path: '/v1/recover/token', params: ['input'], auth: 'none', limited: true },

  { op: 'listIp', method: 'GET', path: '/v1/ip', params: [], auth: READ },
  { op: 'checkIp', method: 'GET', path: '/v1/ip/check', params: ['address'], auth: READ },
  { op: 'addIp', method: 'POST', path: '/v1/ip/add', params: ['entries', 'options', 'proof'], auth: { scope: 'ip:write' }, limited: true },
  { op: 'removeIp', method: 'POST', path: '/v1/ip/remove', params: ['entries', 'options', 'proof'], auth: { scope: 'ip:write' }, limited: true },
  { op: 'setIp', method: 'POST', path: '/v1/ip/set', params: ['entries', 'options', 'proof'], auth: { scope: 'ip:write' }, limited: true },
  { op: 'clearIp', method: 'POST', path: '/v1/ip/clear', params: ['proof'], auth: { scope: 'ip:write' }, limited: true },

  { op: 'tokenScopes', method: 'GET', path: '/v1/tokens/scopes', params: [], auth: 'none' },
  { op: 'listTokens', method: 'GET', path: '/v1/tokens', params: [], auth: READ },
  { op: 'createToken', method: 'POST', path: '/v1/tokens/create', params: ['request', 'proof'], auth: 'session', limited: true },
  { op: 'revokeToken', method: 'POST', path: '/v1/tokens/revoke', params: ['idOrName', 'proof'], auth: 'session', limited: true },
  { op: 'rotateToken', method: 'POST', path: '/v1/tokens/rotate', params: ['idOrName', 'proof'], auth: 'session', limited: true },
  { op: 'verifyToken', method: 'POST', path: '/v1/tokens/introspect', params: ['token', 'ip'], auth: 'none', limited: true },
  { op: 'apiKeyStatus', method: 'GET', path: '/v1/apikey', params: [], auth: READ },
  { op: 'generateApiKey', method: 'POST', path: '/v1/apikey/generate', params: ['proof'], auth: 'session', limited: true },
  { op: 'deleteApiKey', method: 'POST', path: '/v1/apikey/delete', params: ['proof'], auth: 'session', limited: true },
  { op: 'migrateApiKey', method: 'POST', path: '/v1/apikey/migrate', params: ['name', 'expires', 'proof'], auth: 'session', limited: true },

  { op: 'adminListUsers', method: 'GET', path: '/v1/admin/users', params: ['role'], auth: 'session', stream: true },
  { op: 'adminShowUser', method: 'GET', path: '/v1/admin/user', params: ['username'], auth: 'session' },
  { op: 'adminCreateUser', method: 'POST', path: '/v1/admin/users/create', params: ['input'], auth: 'session' },
  { op: 'adminSetRole', method: 'POST', path: '/v1/admin/users/set-role', params: ['username', 'role', 'input'], auth: 'session' },
  { op: 'adminResetPassword', method: 'POST', path: '/v1/admin/reset-password', params: ['username', 'input'], auth: 'session' },
  { op: 'adminResetMfa', method: 'POST', path: '/v1/admin/reset-mfa', params: ['username', 'input'], auth: 'session' },
  { op: 'adminLock', method: 'POST', path: '/v1/admin/lock', params: ['username', 'locked', 'input'], auth: 'session' },
  { op: 'adminRevokeSessions', method: 'POST', path: '/v1/admin/sessions/revoke', params: ['username', 'input'], auth: 'session' },
  { op: 'adminAudit', method: 'GET', path: '/v1/admin/audit', params: ['filter'], auth: 'session' },
  { op: 'adminVerifyAudit', method: 'GET', path: '/v1/admin/audit/verify', params: [], auth: 'session' },
];

export const ROUTE_BY_OP = new Map(ROUTES.map((r) => [r.op, r]));

/** HTTP status for each SPEC §1 exit code, and back. */
export const STATUS_BY_EXIT: Record<number, number> = { 1: 500, 2: 400, 3: 401, 4: 404, 5: 409, 6: 429, 7: 403, 8: 503, 130: 400 };
