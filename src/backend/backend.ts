import type {
  AdminCreateUserInput,
  AdminResetInput,
  AdminImportBatch,
  ImportBatchResult,
  UserExport,
  AuditFilter,
  KeyCeremonyAnswer,
  KeySignInRequest,
  PasswordChange,
  RecoverInput,
  SignInCodeRequest,
  TokenRecoverInput,
  AccountStatus,
  AdminActionInput,
  AdminResult,
  AuditEntry,
  AuditHead,
  AuditVerification,
  UserDetails,
  UserSummary,
  ApiKeyStatus,
  Introspection,
  ScopeInfo,
  TokenCreated,
  TokenRequest,
  TokenView,
  ActivityEntry,
  EmailCodeSent,
  IdentityProof,
  InitInput,
  IpChange,
  IpChangeOptions,
  IpCheck,
  IpEntry,
  IpEntryInput,
  NotificationSettings,
  RecoveryEmail,
  MfaStatus,
  RecoveryCodes,
  TotpEnabled,
  TotpEnrollment,
  InitResult,
  KeyAdded,
  KeyCeremony,
  KeyCeremonyOptions,
  KeyCeremonyState,
  KeyView,
  PasswordChangeResult,
  SessionView,
  SignInInput,
  SignInResult,
  AccountEmail,
  OrgView,
  RecipientList,
  RecipientQuery,
  QrPendingRequests,
  QrRecoveryRequest,
  QrRecoveryState,
  RecoveryQrCreated,
  RecoveryQrStatus,
  AppCreateInput,
  AppCreated,
  AppView,
  AuthorizedAppView,
} from '../views.js';

/**
 * What every command calls. `local` runs the service layer over SQLite in this process; `remote`
 * (SPEC §10) sends the same calls to `acctsec serve`. Commands never know which one they hold.
 * Calls about "my account" use the session the back end was created with.
 */
export interface Backend {
  /** Where state lives: a database path or a server URL, for messages. */
  readonly location: string;

  /** `bootstrapSecret`: over HTTP, the one-time secret `acctsec serve` wrote beside its database (issue #14); local mode needs none. */
  init(input: InitInput, bootstrapSecret?: string): Promise<InitResult>;
  signIn(input: SignInInput): Promise<SignInResult>;
  signOut(): Promise<void>;

  status(): Promise<AccountStatus>;
  activity(limit: number): Promise<ActivityEntry[]>;

  listSessions(): Promise<SessionView[]>;
  revokeSession(id: string, proof?: IdentityProof): Promise<void>;
  revokeOtherSessions(proof?: IdentityProof): Promise<{ revoked: number }>;

  changePassword(input: PasswordChange): Promise<PasswordChangeResult>;
  changeUsername(username: string, proof?: IdentityProof): Promise<{ username: string; previous: string }>;

  mfaStatus(): Promise<MfaStatus>;
  /** Confirms identity (always), returns a pending enrollment valid 10 minutes. */
  beginTotp(proof?: IdentityProof): Promise<TotpEnrollment>;
  confirmTotp(code: string): Promise<TotpEnabled>;
  /** `acknowledgeLast`: the user agreed to fall back to the password alone. */
  disableTotp(code: string, acknowledgeLast: boolean): Promise<{ disabled: true; remainingMethods: string[] }>;
  /** Both need a fresh authenticator code, or (`method` key) a security key assertion's ceremony id. */
  viewRecoveryCodes(code: string, method?: string): Promise<RecoveryCodes>;
  regenerateRecoveryCodes(code: string, method?: string): Promise<RecoveryCodes>;

  /** Email codes at sign-in: the password, then a code to the address (`login --send-code`). */
  sendSignInCode(input: SignInCodeRequest): Promise<EmailCodeSent>;
  /** A code of a sending method (email) to confirm identity (`--send-code` on sensitive commands). */
  sendFactorCode(method: string): Promise<EmailCodeSent>;
  beginEmailMfa(proof?: IdentityProof): Promise<EmailCodeSent>;
  resendEmailMfa(): Promise<EmailCodeSent>;
  confirmEmailMfa(code: string): Promise<{ enabled: true; address: string }>;
  disableEmailMfa(code: string, acknowledgeLast: boolean): Promise<{ disabled: true; remainingMethods: string[] }>;

  // Security keys (SPEC §4.3). A ceremony is started by the caller that holds the session (or the
  // password, or names the account to recover); the browser page fetches its options and posts its
  // answer by the ceremony's id; the caller waits for the answer and has it verified: by
  // finishKeyRegistration, or by passing the id as the key method's code (signIn, identity proofs, recover).
  beginKeyRegistration(name: string, proof?: IdentityProof): Promise<KeyCeremony>;
  finishKeyRegistration(ceremonyId: string): Promise<KeyAdded>;
  beginKeySignIn(input: KeySignInRequest): Promise<KeyCeremony>;
  beginKeyProof(): Promise<KeyCeremony>;
  beginKeyRecovery(username: string): Promise<KeyCeremony>;
  /** For the page: no session; the id is the capability. */
  keyCeremonyOptions(ceremonyId: string): Promise<KeyCeremonyOptions>;
  submitKeyCeremony(ceremonyId: string, answer: KeyCeremonyAnswer): Promise<{ received: true }>;
  /** Waits up to `waitMs` (at most 20 s) for the browser's answer. */
  awaitKeyCeremony(ceremonyId: string, waitMs: number): Promise<KeyCeremonyState>;
  listKeys(): Promise<KeyView[]>;
  renameKey(name: string, newName: string): Promise<KeyView>;
  removeKey(
    name: string,
    acknowledgeLast: boolean,
    proof?: IdentityProof,
  ): Promise<{ removed: string; remainingMethods: string[] }>;

  notificationSettings(): Promise<NotificationSettings>;
  setNotificationFormat(format: string): Promise<NotificationSettings>;
  setNewsletters(lists: string[], subscribed: boolean): Promise<NotificationSettings>;
  setOrganizationNotifications(org: string, on: boolean): Promise<NotificationSettings>;

  listRecoveryEmails(): Promise<RecoveryEmail[]>;
  addRecoveryEmail(address: string, proof?: IdentityProof): Promise<EmailCodeSent>;
  confirmRecoveryEmail(address: string, code: string): Promise<RecoveryEmail>;
  removeRecoveryEmail(address: string, proof?: IdentityProof): Promise<void>;
  /** No session: the same answer for every username. */
  sendRecoveryCode(username: string): Promise<{ message: string }>;
  /** `method` email (the default: `code` is the emailed code) or key (`code` is a recovery ceremony's id). */
  recover(input: RecoverInput): Promise<{ username: string; revokedSessions: number }>;

  // Recovery QR codes (issue #20 §1). `recover` takes method qr (code: the code's secret) or qr-phone
  // (code: the handle of a request a phone approved on the server's page).
  createRecoveryQr(proof?: IdentityProof): Promise<RecoveryQrCreated>;
  recoveryQrStatus(): Promise<RecoveryQrStatus>;
  revokeRecoveryQr(proof?: IdentityProof): Promise<{ revoked: true; createdAt: string }>;
  /** No session: the same answer for every username. */
  beginQrRecovery(username: string): Promise<QrRecoveryRequest>;
  /** Waits up to `waitMs` (at most 20 s) for the phone's approval. */
  awaitQrRecovery(requestId: string, waitMs: number): Promise<QrRecoveryState>;
  /** For the approval page: no session; the code's secret is the capability. */
  qrPendingRequests(secret: string): Promise<QrPendingRequests>;
  approveQrRecovery(secret: string, requestId: string): Promise<{ approved: true; username: string }>;

  listIp(): Promise<IpEntry[]>;
  checkIp(address: string): Promise<IpCheck>;
  addIp(entries: IpEntryInput[], options: IpChangeOptions, proof?: IdentityProof): Promise<IpChange>;
  removeIp(entries: IpEntryInput[], options: IpChangeOptions, proof?: IdentityProof): Promise<IpChange>;
  /** Replaces the whole list in one transaction. */
  setIp(entries: IpEntryInput[], options: IpChangeOptions, proof?: IdentityProof): Promise<IpChange>;
  clearIp(proof?: IdentityProof): Promise<IpChange>;

  tokenScopes(): Promise<ScopeInfo[]>;
  createToken(request: TokenRequest, proof?: IdentityProof): Promise<TokenCreated>;
  listTokens(): Promise<TokenView[]>;
  revokeToken(idOrName: string, proof?: IdentityProof): Promise<TokenView>;
  rotateToken(idOrName: string, proof?: IdentityProof): Promise<TokenCreated>;
  /** Introspection: no session needed. */
  verifyToken(token: string, ip?: string): Promise<Introspection>;

  apiKeyStatus(): Promise<ApiKeyStatus>;
  generateApiKey(proof?: IdentityProof): Promise<{ key: string; id: string }>;
  deleteApiKey(proof?: IdentityProof): Promise<void>;
  migrateApiKey(name: string, expires: string | undefined, proof?: IdentityProof): Promise<TokenCreated>;

  /** Streams: the first accounts arrive before the last are read. */
  adminListUsers(role?: string): AsyncIterable<UserSummary>;
  adminShowUser(username: string): Promise<UserDetails>;
  adminCreateUser(input: AdminCreateUserInput): Promise<AdminResult>;
  /** One batch of `admin users import` (issue #19 §4): up to 1,000 rows, created in one transaction. */
  adminImportUsers(input: AdminImportBatch): Promise<ImportBatchResult>;
  /** Streams every account for `admin users export`: no secret, no hash. */
  adminExportUsers(role?: string): AsyncIterable<UserExport>;
  adminSetRole(username: string, role: string, input: AdminActionInput): Promise<AdminResult>;
  adminResetPassword(username: string, input: AdminResetInput): Promise<AdminResult>;
  adminResetMfa(username: string, input: AdminActionInput): Promise<AdminResult>;
  adminLock(username: string, locked: boolean, input: AdminActionInput): Promise<AdminResult>;
  /** Clears every throttle of the account (issue #15). */
  adminUnthrottle(username: string, input: AdminActionInput): Promise<AdminResult>;
  adminRevokeSessions(username: string, input: AdminActionInput): Promise<AdminResult>;
  /** `admin ip show`: another account's IP allow-list. */
  adminIpShow(username: string): Promise<IpEntry[]>;
  /** `admin ip clear`: lift another account's IP restriction (audited, owner notified). */
  adminIpClear(username: string, input: AdminActionInput): Promise<AdminResult>;
  adminAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  /** `head`: SEQ:MAC kept from `adminAuditHead`; also proves nothing at or before it changed. */
  adminVerifyAudit(head?: string): Promise<AuditVerification>;
  adminAuditHead(): Promise<AuditHead>;
  /** No session: the owner redeems a reset token from support. */
  recoverWithToken(input: TokenRecoverInput): Promise<{ username: string; revokedSessions: number }>;

  // Issue #20 §3: the account's own address. A change waits for the code sent to the new address.
  emailShow(): Promise<AccountEmail>;
  changeEmail(address: string, proof?: IdentityProof): Promise<EmailCodeSent>;
  /** A (new) code to the address waiting for one: a pending change, or the unverified current address. */
  sendEmailConfirmation(): Promise<EmailCodeSent>;
  confirmEmail(code: string): Promise<AccountEmail>;
  cancelEmailChange(): Promise<AccountEmail>;
  adminSetEmail(username: string, address: string, input: AdminActionInput): Promise<AdminResult>;

  // Issue #20 §5: organizations and the recipients of a mailing.
  adminCreateOrg(name: string, input: AdminActionInput): Promise<AdminResult>;
  adminAddOrgMember(org: string, username: string, input: AdminActionInput): Promise<AdminResult>;
  adminRemoveOrgMember(org: string, username: string, input: AdminActionInput): Promise<AdminResult>;
  adminListOrgs(): Promise<OrgView[]>;
  adminRecipients(query: RecipientQuery): Promise<RecipientList>;

  // Issue #21: OAuth applications ("My apps", support's view), what a person allowed, the signing keys.
  createApp(input: AppCreateInput, proof?: IdentityProof): Promise<AppCreated>;
  listApps(): Promise<AppView[]>;
  showApp(app: string): Promise<AppView>;
  rotateAppSecret(app: string, proof?: IdentityProof): Promise<AppCreated>;
  deleteApp(app: string, proof?: IdentityProof): Promise<AppView>;
  authorizedApps(): Promise<AuthorizedAppView[]>;
  revokeAuthorizedApp(app: string): Promise<{ clientId: string; name: string; removed: number }>;
  adminListApps(): Promise<AppView[]>;
  adminSetAppDisabled(clientId: string, disabled: boolean, input: AdminActionInput): Promise<AppView>;
  adminRotateOAuthKeys(input: AdminActionInput): Promise<{ kid: string }>;

  close(): Promise<void>;
}

export interface BackendOptions {
  /** The session token of the profile, when signed in. */
  sessionToken?: string | undefined;
}
