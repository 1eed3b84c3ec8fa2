import * as v from 'valibot';
import * as S from '../schemas.js';
import type { Backend } from './backend.js';

// The HTTP API of `acctsec serve` (SPEC §10), one table for both sides: the server dispatches each
// route to the Backend operation of the same name, and the remote back end sends each operation to
// its route. `params` name the operation's arguments in order (JSON body fields for POST, query
// parameters, JSON-encoded, for GET), each with the schema the server checks it against before the
// Backend is called (issue #14). The compiler checks each route's schemas against the Backend
// method's parameters, so the table and the interface cannot drift.

export type Operation = Exclude<keyof Backend, 'location' | 'close'>;

/**
 * Who may call: anyone (`none`), a signed-in session only (`session`: password, MFA, token and admin
 * changes, SPEC §10), or a session or a personal access token with the scope.
 */
export type RouteAuth = 'none' | 'session' | { scope: string };

/** One argument of a Backend operation: its name on the wire and its schema. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a schema's input side is whatever JSON gives
export type Param<T> = readonly [name: string, schema: v.GenericSchema<any, T>];

export interface Route {
  op: Operation;
  method: 'GET' | 'POST';
  path: string;
  params: readonly Param<unknown>[];
  /** The whole body (POST) or query (GET) as one strict object of the params: unknown fields are refused. */
  input: v.GenericSchema<unknown, Record<string, unknown>>;
  auth: RouteAuth;
  /**
   * Failed calls count toward the per-address limit (429): sign-in, codes, a caller's bad credentials.
   * Such calls also take one of the address's few turns for checks in flight (issue #15).
   */
  limited?: boolean;
  /** Holds the request open while it waits for something else (a long poll): takes no turn for checks. */
  longPoll?: boolean;
  /** The answer is a stream of JSON lines (NDJSON), not one document. */
  stream?: boolean;
  /** Also takes application/x-www-form-urlencoded (RFC 7662 §2.1 introspection requests). */
  form?: boolean;
  /** Rate-limited per calling credential instead of per address (introspection by resource servers). */
  perCaller?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a schema's input side is whatever JSON gives
function p<T>(name: string, schema: v.GenericSchema<any, T>): Param<T> {
  return [name, schema];
}

type Outputs<Ps> = { -readonly [K in keyof Ps]: Ps[K] extends Param<infer T> ? T : never };
/** The params when they fit the Backend method (every value they let through is one it takes, none missing), else never. */
type Fits<Op extends Operation, Ps extends readonly unknown[]> =
  Outputs<Ps> extends Parameters<Backend[Op]>
    ? Ps['length'] extends Required<Parameters<Backend[Op]>>['length']
      ? Ps
      : never
    : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parameters' types are checked by Fits, not here
function route<Op extends Operation, const Ps extends readonly Param<any>[]>(
  r: Omit<Route, 'op' | 'params' | 'input'> & { op: Op; params: Ps & Fits<Op, Ps> },
): Route {
  const input = v.strictObject(
    Object.fromEntries(r.params.map(([name, schema]) => [name, schema])),
  ) as unknown as Route['input'];
  return { ...r, params: r.params, input };
}

const READ = { scope: 'account:read' } as const;

export const ROUTES: Route[] = [
  route({
    op: 'init',
    method: 'POST',
    path: '/v1/init',
    params: [p('input', S.InitInput), p('bootstrapSecret', v.optional(S.Secret))],
    auth: 'none',
  }),
  route({
    op: 'signIn',
    method: 'POST',
    path: '/v1/sessions',
    params: [p('input', S.SignInInput)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'sendSignInCode',
    method: 'POST',
    path: '/v1/sessions/code',
    params: [p('input', S.SignInCodeRequest)],
    auth: 'none',
    limited: true,
  }),
  route({ op: 'signOut', method: 'POST', path: '/v1/sessions/current/end', params: [], auth: 'session' }),
  route({ op: 'listSessions', method: 'GET', path: '/v1/sessions', params: [], auth: READ }),
  route({
    op: 'revokeSession',
    method: 'POST',
    path: '/v1/sessions/revoke',
    params: [p('id', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'revokeOtherSessions',
    method: 'POST',
    path: '/v1/sessions/revoke-others',
    params: [p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),

  route({ op: 'status', method: 'GET', path: '/v1/account', params: [], auth: READ }),
  route({ op: 'activity', method: 'GET', path: '/v1/activity', params: [p('limit', S.ActivityLimit)], auth: READ }),
  route({
    op: 'changePassword',
    method: 'POST',
    path: '/v1/account/password',
    params: [p('input', S.PasswordChange)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'changeUsername',
    method: 'POST',
    path: '/v1/account/username',
    params: [p('username', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),

  route({ op: 'mfaStatus', method: 'GET', path: '/v1/mfa', params: [], auth: READ }),
  route({
    op: 'sendFactorCode',
    method: 'POST',
    path: '/v1/mfa/code',
    params: [p('method', S.Short)],
    auth: 'session',
  }),
  route({
    op: 'beginTotp',
    method: 'POST',
    path: '/v1/mfa/totp/enable',
    params: [p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'confirmTotp',
    method: 'POST',
    path: '/v1/mfa/totp/confirm',
    params: [p('code', S.Short)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'disableTotp',
    method: 'POST',
    path: '/v1/mfa/totp/disable',
    params: [p('code', S.Short), p('acknowledgeLast', S.Flag)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'beginEmailMfa',
    method: 'POST',
    path: '/v1/mfa/email/enable',
    params: [p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({ op: 'resendEmailMfa', method: 'POST', path: '/v1/mfa/email/resend', params: [], auth: 'session' }),
  route({
    op: 'confirmEmailMfa',
    method: 'POST',
    path: '/v1/mfa/email/confirm',
    params: [p('code', S.Short)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'disableEmailMfa',
    method: 'POST',
    path: '/v1/mfa/email/disable',
    params: [p('code', S.Short), p('acknowledgeLast', S.Flag)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'viewRecoveryCodes',
    method: 'POST',
    path: '/v1/recovery-codes/view',
    params: [p('code', S.Short), p('method', v.optional(S.Short))],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'regenerateRecoveryCodes',
    method: 'POST',
    path: '/v1/recovery-codes/regenerate',
    params: [p('code', S.Short), p('method', v.optional(S.Short))],
    auth: 'session',
    limited: true,
  }),

  route({
    op: 'beginKeyRegistration',
    method: 'POST',
    path: '/v1/mfa/keys/register',
    params: [p('name', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'finishKeyRegistration',
    method: 'POST',
    path: '/v1/mfa/keys/register/finish',
    params: [p('ceremonyId', S.Short)],
    auth: 'session',
    limited: true,
  }),
  route({ op: 'beginKeyProof', method: 'POST', path: '/v1/mfa/keys/assert', params: [], auth: 'session' }),
  route({ op: 'listKeys', method: 'GET', path: '/v1/mfa/keys', params: [], auth: READ }),
  route({
    op: 'renameKey',
    method: 'POST',
    path: '/v1/mfa/keys/rename',
    params: [p('name', S.Short), p('newName', S.Short)],
    auth: 'session',
  }),
  route({
    op: 'removeKey',
    method: 'POST',
    path: '/v1/mfa/keys/remove',
    params: [p('name', S.Short), p('acknowledgeLast', S.Flag), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'beginKeySignIn',
    method: 'POST',
    path: '/v1/sessions/key',
    params: [p('input', S.KeySignInRequest)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'beginKeyRecovery',
    method: 'POST',
    path: '/v1/recover/key',
    params: [p('username', S.Short)],
    auth: 'none',
    limited: true,
  }),
  // The ceremony page's calls (POST, so the id stays out of URLs and logs).
  route({
    op: 'keyCeremonyOptions',
    method: 'POST',
    path: '/v1/keys/ceremony/options',
    params: [p('ceremonyId', S.Short)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'submitKeyCeremony',
    method: 'POST',
    path: '/v1/keys/ceremony/answer',
    params: [p('ceremonyId', S.Short), p('answer', S.KeyCeremonyAnswer)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'awaitKeyCeremony',
    method: 'POST',
    path: '/v1/keys/ceremony/wait',
    params: [p('ceremonyId', S.Short), p('waitMs', S.WaitMs)],
    auth: 'none',
    limited: true,
    longPoll: true,
  }),

  route({ op: 'notificationSettings', method: 'GET', path: '/v1/notifications', params: [], auth: READ }),
  route({
    op: 'setNotificationFormat',
    method: 'POST',
    path: '/v1/notifications/format',
    params: [p('format', S.Short)],
    auth: { scope: 'notifications:write' },
  }),
  route({
    op: 'setNewsletters',
    method: 'POST',
    path: '/v1/notifications/newsletters',
    params: [p('lists', S.Names), p('subscribed', S.Flag)],
    auth: { scope: 'notifications:write' },
  }),
  route({
    op: 'setOrganizationNotifications',
    method: 'POST',
    path: '/v1/notifications/organizations',
    params: [p('org', S.Short), p('on', S.Flag)],
    auth: { scope: 'notifications:write' },
  }),

  route({ op: 'listRecoveryEmails', method: 'GET', path: '/v1/recovery/emails', params: [], auth: READ }),
  route({
    op: 'addRecoveryEmail',
    method: 'POST',
    path: '/v1/recovery/emails/add',
    params: [p('address', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'confirmRecoveryEmail',
    method: 'POST',
    path: '/v1/recovery/emails/confirm',
    params: [p('address', S.Short), p('code', S.Short)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'removeRecoveryEmail',
    method: 'POST',
    path: '/v1/recovery/emails/remove',
    params: [p('address', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'sendRecoveryCode',
    method: 'POST',
    path: '/v1/recover/code',
    params: [p('username', S.Short)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'recover',
    method: 'POST',
    path: '/v1/recover',
    params: [p('input', S.RecoverInput)],
    auth: 'none',
    limited: true,
  }),
  // Recovery QR codes (issue #20 §1). The page's calls are POSTs: the secret stays out of URLs and logs.
  route({
    op: 'createRecoveryQr',
    method: 'POST',
    path: '/v1/recovery/qr/create',
    params: [p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({ op: 'recoveryQrStatus', method: 'GET', path: '/v1/recovery/qr', params: [], auth: READ }),
  route({
    op: 'revokeRecoveryQr',
    method: 'POST',
    path: '/v1/recovery/qr/revoke',
    params: [p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'beginQrRecovery',
    method: 'POST',
    path: '/v1/recover/qr',
    params: [p('username', S.Short)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'awaitQrRecovery',
    method: 'POST',
    path: '/v1/recover/qr/wait',
    params: [p('requestId', S.Short), p('waitMs', S.WaitMs)],
    auth: 'none',
    limited: true,
    longPoll: true,
  }),
  route({
    op: 'qrPendingRequests',
    method: 'POST',
    path: '/v1/recover/qr/pending',
    params: [p('secret', S.Short)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'approveQrRecovery',
    method: 'POST',
    path: '/v1/recover/qr/approve',
    params: [p('secret', S.Short), p('requestId', S.Short)],
    auth: 'none',
    limited: true,
  }),
  route({
    op: 'recoverWithToken',
    method: 'POST',
    path: '/v1/recover/token',
    params: [p('input', S.TokenRecoverInput)],
    auth: 'none',
    limited: true,
  }),

  route({ op: 'listIp', method: 'GET', path: '/v1/ip', params: [], auth: READ }),
  route({ op: 'checkIp', method: 'GET', path: '/v1/ip/check', params: [p('address', S.Short)], auth: READ }),
  route({
    op: 'addIp',
    method: 'POST',
    path: '/v1/ip/add',
    params: [p('entries', S.IpEntries), p('options', S.IpChangeOptions), p('proof', S.OptionalProof)],
    auth: { scope: 'ip:write' },
    limited: true,
  }),
  route({
    op: 'removeIp',
    method: 'POST',
    path: '/v1/ip/remove',
    params: [p('entries', S.IpEntries), p('options', S.IpChangeOptions), p('proof', S.OptionalProof)],
    auth: { scope: 'ip:write' },
    limited: true,
  }),
  route({
    op: 'setIp',
    method: 'POST',
    path: '/v1/ip/set',
    params: [p('entries', S.IpEntries), p('options', S.IpChangeOptions), p('proof', S.OptionalProof)],
    auth: { scope: 'ip:write' },
    limited: true,
  }),
  route({
    op: 'clearIp',
    method: 'POST',
    path: '/v1/ip/clear',
    params: [p('proof', S.OptionalProof)],
    auth: { scope: 'ip:write' },
    limited: true,
  }),

  route({ op: 'tokenScopes', method: 'GET', path: '/v1/tokens/scopes', params: [], auth: 'none' }),
  route({ op: 'listTokens', method: 'GET', path: '/v1/tokens', params: [], auth: READ }),
  route({
    op: 'createToken',
    method: 'POST',
    path: '/v1/tokens/create',
    params: [p('request', S.TokenRequest), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'revokeToken',
    method: 'POST',
    path: '/v1/tokens/revoke',
    params: [p('idOrName', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'rotateToken',
    method: 'POST',
    path: '/v1/tokens/rotate',
    params: [p('idOrName', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'verifyToken',
    method: 'POST',
    path: '/v1/tokens/introspect',
    params: [p('token', S.Secret), p('ip', v.optional(S.Short))],
    auth: { scope: 'tokens:introspect' },
    limited: true,
    form: true,
    perCaller: true,
  }),
  route({ op: 'apiKeyStatus', method: 'GET', path: '/v1/apikey', params: [], auth: READ }),
  route({
    op: 'generateApiKey',
    method: 'POST',
    path: '/v1/apikey/generate',
    params: [p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'deleteApiKey',
    method: 'POST',
    path: '/v1/apikey/delete',
    params: [p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'migrateApiKey',
    method: 'POST',
    path: '/v1/apikey/migrate',
    params: [p('name', S.Short), p('expires', v.optional(S.Short)), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),

  route({
    op: 'adminListUsers',
    method: 'GET',
    path: '/v1/admin/users',
    params: [p('role', v.optional(S.Short))],
    auth: 'session',
    stream: true,
  }),
  route({
    op: 'adminShowUser',
    method: 'GET',
    path: '/v1/admin/user',
    params: [p('username', S.Short)],
    auth: 'session',
  }),
  route({
    op: 'adminCreateUser',
    method: 'POST',
    path: '/v1/admin/users/create',
    params: [p('input', S.AdminCreateUserInput)],
    auth: 'session',
  }),
  route({
    op: 'adminImportUsers',
    method: 'POST',
    path: '/v1/admin/users/import',
    params: [p('input', S.AdminImportBatch)],
    auth: 'session',
  }),
  route({
    op: 'adminExportUsers',
    method: 'GET',
    path: '/v1/admin/users/export',
    params: [p('role', v.optional(S.Short))],
    auth: 'session',
    stream: true,
  }),
  route({
    op: 'adminSetRole',
    method: 'POST',
    path: '/v1/admin/users/set-role',
    params: [p('username', S.Short), p('role', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminResetPassword',
    method: 'POST',
    path: '/v1/admin/reset-password',
    params: [p('username', S.Short), p('input', S.AdminResetInput)],
    auth: 'session',
  }),
  route({
    op: 'adminResetMfa',
    method: 'POST',
    path: '/v1/admin/reset-mfa',
    params: [p('username', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminLock',
    method: 'POST',
    path: '/v1/admin/lock',
    params: [p('username', S.Short), p('locked', S.Flag), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({ op: 'adminIpShow', method: 'GET', path: '/v1/admin/ip', params: [p('username', S.Short)], auth: 'session' }),
  route({
    op: 'adminIpClear',
    method: 'POST',
    path: '/v1/admin/ip/clear',
    params: [p('username', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminUnthrottle',
    method: 'POST',
    path: '/v1/admin/unthrottle',
    params: [p('username', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminRevokeSessions',
    method: 'POST',
    path: '/v1/admin/sessions/revoke',
    params: [p('username', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminAudit',
    method: 'GET',
    path: '/v1/admin/audit',
    params: [p('filter', S.AuditFilter)],
    auth: 'session',
  }),
  route({
    op: 'adminVerifyAudit',
    method: 'GET',
    path: '/v1/admin/audit/verify',
    params: [p('head', v.optional(S.Short))],
    auth: 'session',
  }),
  route({ op: 'adminAuditHead', method: 'GET', path: '/v1/admin/audit/head', params: [], auth: 'session' }),

  // Issue #20 §3: the account's own address.
  route({ op: 'emailShow', method: 'GET', path: '/v1/account/email', params: [], auth: READ }),
  route({
    op: 'changeEmail',
    method: 'POST',
    path: '/v1/account/email/change',
    params: [p('address', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({ op: 'sendEmailConfirmation', method: 'POST', path: '/v1/account/email/code', params: [], auth: 'session' }),
  route({
    op: 'confirmEmail',
    method: 'POST',
    path: '/v1/account/email/confirm',
    params: [p('code', S.Short)],
    auth: 'session',
    limited: true,
  }),
  route({ op: 'cancelEmailChange', method: 'POST', path: '/v1/account/email/cancel', params: [], auth: 'session' }),
  route({
    op: 'adminSetEmail',
    method: 'POST',
    path: '/v1/admin/users/set-email',
    params: [p('username', S.Short), p('address', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),

  // Issue #20 §5: organizations and mailing recipients.
  route({
    op: 'adminCreateOrg',
    method: 'POST',
    path: '/v1/admin/orgs/create',
    params: [p('name', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminAddOrgMember',
    method: 'POST',
    path: '/v1/admin/orgs/add-member',
    params: [p('org', S.Short), p('username', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminRemoveOrgMember',
    method: 'POST',
    path: '/v1/admin/orgs/remove-member',
    params: [p('org', S.Short), p('username', S.Short), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({ op: 'adminListOrgs', method: 'GET', path: '/v1/admin/orgs', params: [], auth: 'session' }),
  route({
    op: 'adminRecipients',
    method: 'GET',
    path: '/v1/admin/notifications/recipients',
    params: [p('query', S.RecipientQuery)],
    auth: 'session',
  }),

  // Issue #21: OAuth applications and what a person allowed them.
  route({
    op: 'createApp',
    method: 'POST',
    path: '/v1/apps/create',
    params: [p('input', S.AppCreateInput), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({ op: 'listApps', method: 'GET', path: '/v1/apps', params: [], auth: 'session' }),
  route({ op: 'showApp', method: 'GET', path: '/v1/apps/show', params: [p('app', S.Short)], auth: 'session' }),
  route({
    op: 'rotateAppSecret',
    method: 'POST',
    path: '/v1/apps/rotate-secret',
    params: [p('app', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({
    op: 'deleteApp',
    method: 'POST',
    path: '/v1/apps/delete',
    params: [p('app', S.Short), p('proof', S.OptionalProof)],
    auth: 'session',
    limited: true,
  }),
  route({ op: 'authorizedApps', method: 'GET', path: '/v1/apps/authorized', params: [], auth: 'session' }),
  route({
    op: 'revokeAuthorizedApp',
    method: 'POST',
    path: '/v1/apps/revoke',
    params: [p('app', S.Short)],
    auth: 'session',
  }),
  route({ op: 'adminListApps', method: 'GET', path: '/v1/admin/apps', params: [], auth: 'session' }),
  route({
    op: 'adminSetAppDisabled',
    method: 'POST',
    path: '/v1/admin/apps/set-disabled',
    params: [p('clientId', S.Short), p('disabled', S.Flag), p('input', S.AdminActionInput)],
    auth: 'session',
  }),
  route({
    op: 'adminRotateOAuthKeys',
    method: 'POST',
    path: '/v1/admin/oauth/keys/rotate',
    params: [p('input', S.AdminActionInput)],
    auth: 'session',
  }),
];

export const ROUTE_BY_OP = new Map(ROUTES.map((r) => [r.op, r]));

/** The first problem of arguments that do not fit their route's schemas, naming the field and never echoing its value. */
export function schemaProblem(issues: readonly v.BaseIssue<unknown>[]): { message: string; field: string } {
  const issue = issues[0]!;
  const field = v.getDotPath(issue) ?? 'body';
  let problem: string;
  if (issue.type === 'strict_object' && issue.expected === 'never') problem = 'is not a field of this request';
  else if (issue.type === 'custom') problem = issue.message;
  else if (issue.kind === 'schema' && issue.received === 'undefined') problem = 'is missing';
  else if (issue.kind === 'schema') problem = `must be ${issue.expected ?? 'something else'}`;
  else problem = issue.message;
  return { message: `invalid request: ${field} ${problem}`, field };
}

/**
 * A call's arguments checked against its route's schemas, as the server checks a request's fields
 * (an undefined argument is an absent field, as in JSON): the parsed values, or the first problem.
 * The local back end checks its callers with it too, so both back ends refuse the same input alike.
 */
export function checkArguments(
  route: Route,
  args: readonly unknown[],
): { ok: true; args: unknown[] } | { ok: false; message: string; field: string } {
  const fields = Object.fromEntries(
    route.params.flatMap(([name], i) => (args[i] === undefined ? [] : [[name, args[i]]])),
  );
  return checkFields(route, fields);
}

/** The fields of a request (the server's JSON body or query) checked against its route's schemas. */
export function checkFields(
  route: Route,
  fields: Record<string, unknown>,
): { ok: true; args: unknown[] } | { ok: false; message: string; field: string } {
  const checked = v.safeParse(route.input, fields);
  if (!checked.success) return { ok: false, ...schemaProblem(checked.issues) };
  return { ok: true, args: route.params.map(([name]) => checked.output[name]) };
}
