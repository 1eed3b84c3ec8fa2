// The plain, JSON-ready shapes that cross the Backend seam: produced by the service layer, carried over
// HTTP by the remote back end, printed by the CLI. Types only; every layer may import this file.
// What clients send is derived from the request schemas (schemas.ts), so the two cannot drift.

export type {
  AdminActionInput,
  AdminCreateUserInput,
  AdminResetInput,
  AdminImportBatch,
  ImportRow,
  AuditFilter,
  IdentityProof,
  InitInput,
  IpChangeOptions,
  IpEntryInput,
  KeyCeremonyAnswer,
  KeySignInRequest,
  PasswordChange,
  RecoverInput,
  SecondFactorAnswer,
  SignInCodeRequest,
  SignInInput,
  TokenRecoverInput,
  TokenRequest,
  RecipientQuery,
  AppCreateInput,
} from './schemas.js';

export type Role = 'user' | 'support' | 'admin';

export interface SessionGrant {
  /** The bearer secret: shown to the client once, stored by the server only as a SHA-256 hash. */
  token: string;
  sessionId: string;
  username: string;
  expiresAt: string;
}

export interface FactorChoice {
  id: string;
  label: string;
}

export type SignInResult =
  | {
      status: 'signed-in';
      session: SessionGrant;
      notices: string[];
      /** Issue #20 §2: set when a recovery-code sign-in opened the 10-minute repair window. */
      repairWindowUntil?: string;
    }
  | { status: 'second-factor-required'; methods: FactorChoice[] };

export interface InitResult {
  account: { username: string; email: string; role: Role };
  session: SessionGrant;
  /** Where the files are: local mode only; a server never names its own paths (issue #14). */
  database?: string;
  keyFile?: string;
  /** Issue #20 §3: the code sent to confirm the first address, or why it could not be sent. */
  emailCode?: EmailCodeSent;
  warnings?: string[];
}

export interface MfaMethodStatus {
  type: string;
  enabled: boolean;
  enabledAt: string | null;
  /** Email codes: where they go. */
  address?: string;
  /** False when an administrator turned the method off (it keeps working until disabled). */
  allowedByPolicy?: boolean;
  /** Security keys: how many are registered. */
  keys?: number;
}

/** A registered security key (SPEC §4.3), as `mfa key list --json` shows it. */
export interface KeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  transports: string[];
  /** A passkey synced by its provider (multi-device), as the authenticator reports it. */
  backedUp: boolean;
  /** The authenticator model's AAGUID (all zeros when it does not say). */
  aaguid: string;
}

/** A WebAuthn ceremony waiting for the browser: open `url` there. */
export interface KeyCeremony {
  ceremonyId: string;
  purpose: 'register' | 'signin' | 'proof' | 'recover';
  url: string;
  expiresAt: string;
}

/** What the page at `url` needs: the options for navigator.credentials.create() or .get(). */
export interface KeyCeremonyOptions {
  purpose: 'register' | 'signin' | 'proof' | 'recover';
  publicKey: Record<string, unknown>;
}

export interface KeyCeremonyState {
  /** waiting: no answer from the browser yet; answered: ready to verify; failed: the browser reported an error. */
  state: 'waiting' | 'answered' | 'failed' | 'expired' | 'used';
  message?: string;
}

export interface KeyAdded {
  key: KeyView;
  /** Issued with the first key when the account had none; shown once. */
  recoveryCodes: string[] | null;
}

export interface EmailCodeSent {
  method: string;
  /** Masked: a***@example.com. */
  sentTo: string;
  expiresAt: string;
  notices?: string[];
}

export interface NotificationSettings {
  format: 'html' | 'text';
  newsletters: Record<string, boolean>;
  organizations: Record<string, boolean>;
  /** Issue #20 §4: the security notices that are always sent and cannot be turned off. */
  alwaysOn: string[];
}

export interface RecoveryEmail {
  address: string;
  verified: boolean;
  addedAt: string;
  verifiedAt: string | null;
}

export interface SessionView {
  id: string;
  current: boolean;
  client: string | null;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface TotpEnrollment {
  /** Base32, for manual entry; shown at enrollment only. */
  secret: string;
  uri: string;
  expiresAt: string;
}

export interface TotpEnabled {
  enabled: true;
  recoveryCodes: string[];
}

export interface RecoveryCodes {
  codes: string[];
}

export interface MfaStatus {
  methods: MfaMethodStatus[];
  /** Unused recovery codes, or null when none were issued. */
  recoveryCodesLeft: number | null;
  /** Issue #20 §2: the end of this session's repair window while it is open, else null (absent for support's view). */
  repairWindowUntil?: string | null;
}

export interface AccountStatus {
  username: string;
  email: string;
  role: Role;
  createdAt: string;
  passwordChangedAt: string;
  passwordRotationDue: boolean;
  passwordRotationDueAt: string;
  mfa: MfaStatus;
  /** IP restriction: empty means none. */
  ipAllowList: IpEntry[];
  tokens: { active: number; expiringSoon: TokenView[] };
  legacyApiKey: boolean;
  sessions: SessionView[];
  /** Advice to act on: rotation due, few recovery codes left. */
  notices: string[];
  /** Issue #20 §2: the end of this session's repair window while it is open, else null. */
  repairWindowUntil: string | null;
}

export interface PasswordStrength {
  score: number;
  warning: string | null;
  suggestions: string[];
}

export interface PasswordChangeResult {
  passwordChangedAt: string;
  revokedSessions: number;
  strength: PasswordStrength;
  notices: string[];
}

export interface ActivityEntry {
  time: string;
  event: string;
  detail: Record<string, unknown> | null;
  ip: string | null;
  sessionId: string | null;
}

export interface IpEntry {
  cidr: string;
  family: 4 | 6;
  addedAt: string;
  /** Why the entry needed --allow-private ("is in the private (RFC 1918) range"); null for a public one. */
  nonPublic: string | null;
}

export interface IpChange {
  added: string[];
  removed: string[];
  /** Duplicates, entries already covered by a wider one, and narrower ones a new wider entry replaced. */
  skipped: { cidr: string; reason: string }[];
  warnings: string[];
  entries: IpEntry[];
}

export interface IpCheck {
  address: string;
  allowed: boolean;
  matchedBy: string | null;
  /** False when the list is empty (no restriction). */
  restricted: boolean;
}

export interface ScopeInfo {
  name: string;
  description: string;
  source: 'acctsec' | 'provider';
}

/** A new token: the only time its secret is shown. */
export interface TokenCreated {
  id: string;
  name: string;
  token: string;
  scopes: string[];
  resources: string[];
  expiresAt: string | null;
}

export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  resources: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  state: 'active' | 'expired' | 'revoked';
}

/**
 * `token verify --json` and POST /v1/tokens/introspect: RFC 7662 §2.2's members (`active`, `scope`
 * space-separated, `exp` and `iat` in seconds, `sub`, `username`, `token_type`, and `client_id` for
 * a token issued to an OAuth application) and SPEC §7's. An inactive token answers `{"active": false}`
 * alone (RFC 7662 §2.2: nothing about a token that is not active).
 */
export type Introspection = { active: false } | ActiveIntrospection | ActiveAppIntrospection;

/** A personal access token, the legacy API key, or an access token an application got for a person. */
export interface ActiveIntrospection {
  active: true;
  scope: string;
  /** The OAuth application the token was issued to (issue #21); absent for a personal access token. */
  client_id?: string;
  /** Seconds since the epoch; absent for a token that never expires (the legacy API key). */
  exp?: number;
  iat: number;
  /** The account's stable id (a username can change). */
  sub: string;
  username: string;
  token_type: 'Bearer';
  account: string;
  scopes: string[];
  resources: string[];
  expiresAt: string | null;
  deprecated: boolean;
}

/**
 * An application's own token (OAuth client credentials grant): no person stands behind it, so it has
 * no `sub`, `username` or `account` (optional in RFC 7662 §2.2), and no IP list applies to it.
 */
export interface ActiveAppIntrospection extends Omit<
  ActiveIntrospection,
  'client_id' | 'sub' | 'username' | 'account'
> {
  client_id: string;
  sub?: undefined;
  username?: undefined;
  account?: undefined;
}

export interface ApiKeyStatus {
  present: boolean;
  id: string | null;
  createdAt: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  scopes: string[];
}

export interface AuditEntry {
  time: string;
  actor: string;
  target: string | null;
  action: string;
  reason: string;
  outcome: string;
}

export interface AuditVerification {
  intact: boolean;
  rows: number;
  firstBadRow: number | null;
  /** The first of `problems`. */
  problem: string | null;
  problems: string[];
  /** Append-only triggers missing or altered. */
  missingTriggers: string[];
  /** The newest row's SEQ:MAC, when the log has rows under the HMAC chain. */
  head: string | null;
  /** The `--head` checked, when one was given. */
  keptHead: string | null;
}

/** `admin audit head`: what to copy off the machine, and whether the log verified when it was read. */
export interface AuditHead {
  head: string | null;
  seq: number | null;
  time: string | null;
  intact: boolean;
  problem: string | null;
}

export interface UserSummary {
  username: string;
  email: string;
  role: Role;
  locked: boolean;
  createdAt: string;
}

/** What `status` shows, for another account, without secrets (`admin users show`). */
export interface UserDetails extends UserSummary {
  /** Issue #20 §3: the address proven by a code; until then it gets notices only. */
  emailVerified: boolean;
  passwordChangedAt: string;
  mfa: MfaStatus;
  ipAllowList: IpEntry[];
  tokens: { active: number; expiringSoon: TokenView[] };
  legacyApiKey: boolean;
  recoveryEmails: RecoveryEmail[];
  activeSessions: number;
}

/** A row of an import file that was not (or would not be) created, and why. */
export interface InvalidImportRow {
  line: number;
  value: string;
  reason: string;
}

/** The answer to one batch of `admin users import` (with dryRun: what it would do). */
export interface ImportBatchResult {
  dryRun: boolean;
  /** The run's id (not in dry runs): the next batches of the run name it. */
  importId?: string;
  /** Accounts created (or that would be). */
  created: number;
  /** Usernames that already had an account: left as they are. */
  existing: string[];
  invalid: InvalidImportRow[];
  /** Only with returnTokens: each new account's single-use reset token, for the --tokens-to file. */
  tokens?: { username: string; token: string }[];
  /** When the tokens of this batch stop working. */
  tokensExpireAt?: string;
  /** Mailed tokens: how many went out, and the accounts whose mail failed (their tokens are void). */
  mailed?: number;
  undelivered?: string[];
}

/** One account as `admin users export` writes it: no secret, no hash. */
export interface UserExport {
  username: string;
  email: string;
  role: Role;
  createdAt: string;
  locked: boolean;
  /** The second factors in use (totp, email, key), by id. */
  mfa: string[];
}

/** The outcome of an admin action; with dryRun, what would change and nothing changed. */
export interface AdminResult {
  action: string;
  target: string;
  dryRun: boolean;
  changes: string[];
  /** Only with --print-token for a reset: the hand-over the agent verified. */
  resetToken?: string;
  resetTokenExpiresAt?: string;
  /** The change stands, but something after it did not happen (a reset token that could not be emailed). */
  warnings?: string[];
}

// Issue #20 §3: the account's own address.
export interface AccountEmail {
  address: string;
  /** Proven by a code sent to it; until then it gets notices but no codes or reset tokens. */
  verified: boolean;
  verifiedAt: string | null;
  /** A change waiting for the code sent to the new address; the address above stays in use until then. */
  pending: { address: string; requestedAt: string; requestedBy: string | null } | null;
}

// Issue #20 §5: organizations and mailing recipients.
export interface OrgView {
  name: string;
  createdAt: string;
  createdBy: string;
  members: string[];
}

export interface Recipient {
  username: string;
  email: string;
  format: 'html' | 'text';
}

export interface RecipientList {
  newsletter: string | null;
  organization: string | null;
  recipients: Recipient[];
}

// Recovery QR codes (issue #20 §1).

/** `recovery qr create`: the code's text, shown once (the store keeps only its hash). */
export interface RecoveryQrCreated {
  /** What the QR code encodes: the server's approval page URL with the secret in its fragment, or the bare secret. */
  text: string;
  /** Whether `text` is a URL a phone can open (the server names its public origin). */
  phone: boolean;
  createdAt: string;
  /** An earlier code was voided by this one. */
  replaced: boolean;
}

export interface RecoveryQrStatus {
  exists: boolean;
  /** When the live code was made, or null. */
  createdAt: string | null;
}

/** `recover --method qr` with a phone: the CLI's request, its handle (a secret of the CLI) and the phrase both screens show. */
export interface QrRecoveryRequest {
  requestId: string;
  phrase: string;
  /** The approval page the code opens; the phone brings the secret in the URL's fragment. */
  page: string;
  expiresAt: string;
}

export interface QrRecoveryState {
  state: 'waiting' | 'approved' | 'expired';
}

/** What the approval page shows: the account and its requests still waiting. */
export interface QrPendingRequests {
  username: string;
  requests: {
    id: string;
    createdAt: string;
    ip: string | null;
    client: string | null;
    phrase: string;
    expiresAt: string;
  }[];
}

/** Issue #21: a registered OAuth application, as its owner (or support) sees it. Never a secret. */
export interface AppView {
  clientId: string;
  name: string;
  owner: string;
  redirectUris: string[];
  public: boolean;
  createdAt: string;
  secretRotatedAt: string | null;
  disabled: { at: string; by: string; reason: string } | null;
}

/** A new app, or a new secret: the secret is shown here once. */
export interface AppCreated extends AppView {
  clientSecret?: string;
}

/** Issue #21: an application this account allowed. */
export interface AuthorizedAppView {
  clientId: string;
  name: string;
  owner: string;
  scopes: string[];
  firstAuthorizedAt: string;
  lastUsedAt: string;
}

/** `admin migrate-store` (issue #22): a SQLite database copied into an empty PostgreSQL one, and the check of the copy. */
export interface StoreMigration {
  /** The SQLite file read. */
  from: string;
  /** The PostgreSQL database written (its URL without a password). */
  to: string;
  dryRun: boolean;
  schemaVersion: number;
  /** Each table with its rows in the source, and in the copy (null in a dry run). */
  tables: { table: string; rows: number; copied: number | null }[];
  rows: number;
  /** The source's audit log (verified before anything is copied), and the copy's (null in a dry run). */
  audit: {
    rows: number;
    head: string | null;
    copy: { rows: number; head: string | null; intact: boolean; problem: string | null } | null;
  };
  /** Counts, contents (a digest per table) and the audit chain of the copy all match the source. */
  verified: boolean | null;
  problems: string[];
  /** Where the at-rest key is: every `serve --database` on the copy needs the same one. */
  key: {
    /** ACCTSEC_ENCRYPTION_KEY, or the source's key file. */
    source: string;
    /** The PostgreSQL key file (keyPathFor the URL); null when the key comes from ACCTSEC_ENCRYPTION_KEY. */
    file: string | null;
    /** What was done with that file: written now, already held the same key, or would be written (dry run). */
    fileState: 'written' | 'same' | 'would-write' | null;
  };
  seconds: number;
}
