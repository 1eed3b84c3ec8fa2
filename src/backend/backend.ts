import type {
  AccountStatus,
  ActivityEntry,
  IdentityProof,
  InitInput,
  MfaStatus,
  RecoveryCodes,
  TotpEnabled,
  TotpEnrollment,
  InitResult,
  PasswordChangeResult,
  SessionView,
  SignInInput,
  SignInResult,
} from '../views.js';

/**
 * What every command calls. `local` runs the service layer over SQLite in this process; `remote`
 * (SPEC §10) sends the same calls to `acctsec serve`. Commands never know which one they hold.
 * Calls about "my account" use the session the back end was created with.
 */
export interface Backend {
  /** Where state lives: a database path or a server URL, for messages. */
  readonly location: string;

  init(input: InitInput): Promise<InitResult>;
  signIn(input: SignInInput): Promise<SignInResult>;
  signOut(): Promise<void>;

  status(): Promise<AccountStatus>;
  activity(limit: number): Promise<ActivityEntry[]>;

  listSessions(): Promise<SessionView[]>;
  revokeSession(id: string, proof?: IdentityProof): Promise<void>;
  revokeOtherSessions(proof?: IdentityProof): Promise<{ revoked: number }>;

  changePassword(input: { current: string; next: string }): Promise<PasswordChangeResult>;
  changeUsername(username: string, proof?: IdentityProof): Promise<{ username: string; previous: string }>;

  mfaStatus(): Promise<MfaStatus>;
  /** Confirms identity (always), returns a pending enrollment valid 10 minutes. */
  beginTotp(proof?: IdentityProof): Promise<TotpEnrollment>;
  confirmTotp(code: string): Promise<TotpEnabled>;
  /** `acknowledgeLast`: the user agreed to fall back to the password alone. */
  disableTotp(code: string, acknowledgeLast: boolean): Promise<{ disabled: true; remainingMethods: string[] }>;
  /** Both need a fresh authenticator code. */
  viewRecoveryCodes(code: string): Promise<RecoveryCodes>;
  regenerateRecoveryCodes(code: string): Promise<RecoveryCodes>;

  close(): Promise<void>;
}

export interface BackendOptions {
  /** The session token of the profile, when signed in. */
  sessionToken?: string | undefined;
}
