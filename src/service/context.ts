import type { FactorKind } from '../factor-kinds.js';
import type { AccountRow } from '../store/accounts.js';
import type { Db } from '../store/db.js';
import type { SessionRow } from '../store/sessions.js';
import type { EmailCodeSent, IdentityProof, MfaMethodStatus } from '../views.js';
import type { PasswordHasher } from './password-hashing.js';
import type { Policy } from './policy.js';
import type { Keyring } from './encryption.js';
import type { Mailer } from '../mail/mailer.js';
import type { Background } from './background.js';
import type { Throttle } from './throttle.js';

/** What every service function works with. Time is injected so tests never mock the global clock. */
export interface ServiceContext {
  db: Db;
  now: () => number;
  policy: Policy;
  hasher: PasswordHasher;
  keyring: Keyring;
  mailer: Mailer;
  /** Work done after the answer (mail that must not be timed from outside). */
  background: Background;
  /**
   * The second factors, in the order sign-in offers them (service/factors.ts builds the list). Services
   * work on this list, never on a factor module: no service imports a factor to ask about the others.
   */
  factors: readonly SecondFactor[];
}

/** Where a request comes from: the session it carries and the client address when one is known. */
export interface RequestOrigin {
  ip?: string | undefined;
  client?: string | undefined;
}

/** A signed-in caller: the account and the session it presented. */
export interface Auth {
  account: AccountRow;
  session: SessionRow;
  /**
   * Set when the caller presented a personal access token, not a signed-in session: a token is its own
   * proof for what its scopes allow, but may not narrow who can reach the account (issue #15).
   */
  viaToken?: boolean;
}

/** Where a security key ceremony page lives: its origin, and the RP ID keys are bound to (its host name). */
export interface RelyingParty {
  rpId: string;
  origin: string;
}

/** What starting an enrolment may carry: identity proof, a name (keys), where the ceremony runs (keys). */
export interface EnrolmentRequest {
  proof?: IdentityProof | undefined;
  name?: string;
  relyingParty?: RelyingParty;
}

/** Turning a method on (SPEC §4): start (identity confirmed, a secret or ceremony pending), then confirm with its first code. */
export interface Enrolment<Started = unknown, Confirmed = unknown> {
  start(ctx: ServiceContext, auth: Auth, request: EnrolmentRequest, origin: RequestOrigin): Promise<Started>;
  /** `code`: the first code of the new secret, a mailed code, or the ceremony's id. */
  confirm(ctx: ServiceContext, auth: Auth, code: string, origin: RequestOrigin): Promise<Confirmed>;
}

/** The owner turns a method (or, for keys, one named key) off: SPEC §4.4. */
export interface DisableRequest {
  /** A current code of the method (app, email). */
  code?: string | undefined;
  /** Identity proof (keys: an assertion or a code of another active method). */
  proof?: IdentityProof | undefined;
  /** Keys: which one. */
  name?: string | undefined;
  /** The explicit yes that disabling the last method needs. */
  acknowledgeLast: boolean;
}

/**
 * One interface for every second factor (totp, email, key, recovery), as Kratos's credential
 * strategies: sign-in, identity confirmation, enrolment, disabling and support's reset work on the
 * list in `ctx.factors`, never on `if (method === 'totp')` chains. Each method module exports one.
 */
export interface SecondFactor<Started = unknown, Confirmed = unknown> extends FactorKind {
  /** Whether it can be used to sign in now. */
  isActive(ctx: ServiceContext, account: AccountRow): boolean;
  /** Its line in `mfa status` / `status`, or null for methods that are not listed there (recovery codes). */
  status(ctx: ServiceContext, account: AccountRow): MfaMethodStatus | null;
  /**
   * Throws AuthFailed or Throttled; returns notices to show (e.g. "3 recovery codes left"). `throttle`
   * is the throttle key of the flow asking (service/throttle.ts): sign-in, confirmation or recovery.
   */
  verify(
    ctx: ServiceContext,
    account: AccountRow,
    code: string,
    origin: RequestOrigin,
    throttle: Throttle,
  ): Promise<string[]>;
  /**
   * For the kinds with `recoversPassword`: checks the answer to a `recover` ceremony (`beginKeyRecovery`
   * for keys) for this account, under the recovery flow's throttle. Throws AuthFailed or Throttled.
   */
  readonly verifyRecovery?: (
    ctx: ServiceContext,
    account: AccountRow,
    answer: string,
    origin: RequestOrigin,
    throttle: Throttle,
  ) => Promise<void>;
  /** For methods whose codes are sent (email): send one now, for sign-in or identity confirmation. */
  sendCode?(ctx: ServiceContext, account: AccountRow, origin: RequestOrigin): Promise<EmailCodeSent>;
  /** Null for recovery codes: they come with an authenticator (SPEC §5), not on their own. */
  readonly enrolment: Enrolment<Started, Confirmed> | null;
  /** Null for recovery codes: they go when the last method goes. */
  disable:
    | ((
        ctx: ServiceContext,
        auth: Auth,
        request: DisableRequest,
        origin: RequestOrigin,
      ) => Promise<{ remainingMethods: string[] }>)
    | null;
  /**
   * Deletes every credential of the method for an account, pending ones included, without checks or
   * log (the caller logs): support's `admin reset-mfa`, and the fallback's removal with the last method.
   * Runs inside the caller's transaction.
   */
  removeAll(ctx: ServiceContext, accountId: number): void;
}
