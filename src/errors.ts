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
    slug = 'invalid_input',
  ) {
    super(slug, message, 2);
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
  constructor(message: string, slug = 'not_found') {
    super(slug, message, 4);
  }
}

/** Exit 5: already enabled, already exists, nothing to do. */
export class Conflict extends AcctsecError {
  constructor(message: string, slug = 'conflict') {
    super(slug, message, 5);
  }
}

/** Exit 6: too many attempts. The message says when to retry. */
export class Throttled extends AcctsecError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    slug = 'throttled',
  ) {
    super(slug, message, 6);
  }
  override details(): Record<string, unknown> {
    return { retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** Exit 7: role, scope, IP restriction, locked account, lock-out guard. */
export class Forbidden extends AcctsecError {
  constructor(message: string, slug = 'forbidden') {
    super(slug, message, 7);
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

/**
 * One table for both sides of the wire (issue #14): the HTTP status of each SPEC §1 exit code. The
 * server answers an error with its status and `{error: {code, message, ...details}}`; the remote back
 * end turns that back into the same error (errorFromWire), so `--json` errors are identical in local
 * and remote mode.
 */
export const STATUS_BY_EXIT: Record<ExitCode, number> = {
  0: 200,
  1: 500,
  2: 400,
  3: 401,
  4: 404,
  5: 409,
  6: 429,
  7: 403,
  8: 503,
  130: 400,
};

/** The exit code of a status: the table read backwards, and the transport's own client errors as exit 2. */
export function exitForStatus(status: number): ExitCode {
  for (const [exit, s] of Object.entries(STATUS_BY_EXIT))
    if (s === status && exit !== '130') return Number(exit) as ExitCode;
  // 405 method, 413 too large, 415 media type, 421 wrong host: the request was malformed.
  return status >= 400 && status < 500 ? 2 : 1;
}

export interface WireError {
  code?: string;
  message?: string;
  field?: string;
  retryAfterSeconds?: number;
  accepts?: { password: boolean; methods: string[] };
}

/** The error a server's answer stands for: the same class, slug, message and details as on the server. */
export function errorFromWire(status: number, e: WireError, retryAfter?: string): AcctsecError {
  const message = e.message ?? `the server answered ${status}`;
  const code = e.code ?? 'remote_error';
  switch (exitForStatus(status)) {
    case 2:
      return code === 'missing_input' ? new MissingInput(message) : new InvalidInput(message, e.field, code);
    case 3:
      return code === 'identity_required' && e.accepts
        ? new IdentityRequired(e.accepts)
        : new AuthFailed(message, code);
    case 4:
      return new NotFound(message, code);
    case 5:
      return new Conflict(message, code);
    case 6:
      return new Throttled(message, e.retryAfterSeconds ?? (Number(retryAfter) || 60), code);
    case 7:
      return new Forbidden(message, code);
    case 8:
      return new Unavailable(message, code);
    default:
      return new AcctsecError(code, message, 1);
  }
}

/** "in 45 s", "in 3 min": used by every throttle message. */
export function retryPhrase(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 120) return `${s} s`;
  return `${Math.ceil(s / 60)} min`;
}
