// The typed errors every layer throws. cli/main.ts maps them to SPEC §1 exit codes, the server maps
// them to HTTP statuses and the remote back end maps them back, so the kind of an error is the contract.

export type ExitCode = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 130;

export class AcctsecError extends Error {
  readonly exitCode: ExitCode;
  readonly slug: string;

  constructor(slug: string, message: string, exitCode: ExitCode) {
    super(message);
    this.name = new.target.name;
    this.slug = slug;
    this.exitCode = exitCode;
  }

  /** The extra fields a JSON error carries besides code and message. */
  details(): Record<string, unknown> {
    return {};
  }
}

/** Exit 2: a value is malformed or breaks a rule. `field` names the flag, variable or value. */
export class InvalidInput extends AcctsecError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super('invalid_input', message, 2);
  }
  override details(): Record<string, unknown> {
    return this.field ? { field: this.field } : {};
  }
}

/** Exit 2: under --no-input, a value that would have been prompted for was not supplied. */
export class MissingInput extends AcctsecError {
  constructor(message: string) {
    super('missing_input', message, 2);
  }
}

/** Exit 3: wrong password or code, not signed in, session expired. */
export class AuthFailed extends AcctsecError {
  constructor(message: string, slug = 'auth_failed') {
    super(slug, message, 3);
  }
}

/**
 * Exit 3 when it escapes: the operation is sensitive and the session is outside its 10-minute window
 * (SPEC §2). The CLI catches it, asks for the password or a code, and retries with the proof.
 */
export class IdentityRequired extends AcctsecError {
  constructor(readonly accepts: { password: boolean; methods: string[] }) {
    super('identity_required', 'confirm your identity: this change needs your password or a second-factor code', 3);
  }
  override details(): Record<string, unknown> {
    return { accepts: this.accepts };
  }
}

/** Exit 4. */
export class NotFound extends AcctsecError {
  constructor(message: string) {
    super('not_found', message, 4);
  }
}

/** Exit 5: already enabled, already exists, nothing to do. */
export class Conflict extends AcctsecError {
  constructor(message: string) {
    super('conflict', message, 5);
  }
}

/** Exit 6: too many attempts. The message says when to retry. */
export class Throttled extends AcctsecError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('throttled', message, 6);
  }
  override details(): Record<string, unknown> {
    return { retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** Exit 7: role, scope, IP restriction, locked account, lock-out guard. */
export class Forbidden extends AcctsecError {
  constructor(message: string) {
    super('forbidden', message, 7);
  }
}

/** Exit 8: remote unreachable, database busy past its timeout or unreadable. */
export class Unavailable extends AcctsecError {
  constructor(message: string, slug = 'unavailable') {
    super(slug, message, 8);
  }
}

/** Exit 130: the user pressed Ctrl-C at a prompt. */
export class Cancelled extends AcctsecError {
  constructor() {
    super('cancelled', 'cancelled', 130);
  }
}

/** "in 45 s", "in 3 min": used by every throttle message. */
export function retryPhrase(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 120) return `${s} s`;
  return `${Math.ceil(s / 60)} min`;
}
