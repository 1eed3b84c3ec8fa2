// The second factors as plain data: what the CLI, its completion and its prompts know about each
// method without loading the service layer. The service's registry (service/factors.ts) gives each
// kind its behaviour; adding a factor adds one entry here and one line there (CONTRIBUTING.md).

export interface FactorKind {
  /** Its name on the command line (`--method`) and on the wire. */
  readonly id: string;
  /** Its choice at sign-in and in identity prompts. */
  readonly label: string;
  /** Its name in a sentence ("the authenticator app was turned off"). */
  readonly name: string;
  /**
   * How an answer is given: a code the user reads off a device or a sheet, a code mailed on request
   * (`--send-code`), or a ceremony in the browser (the ceremony's id is then the "code").
   */
  readonly answer: 'code' | 'mailed-code' | 'ceremony';
  /**
   * Whether it confirms identity for changes. Recovery codes do not: they are a fallback kept for
   * sign-in, never "a method" of their own, and never make a method "the last".
   */
  readonly confirmsIdentity: boolean;
  /** Whether it can confirm viewing or renewing recovery codes (SPEC §5: an authenticator). */
  readonly authenticator: boolean;
  /**
   * Whether it can stand in for a recovery address at `recover` (SPEC §4.3: a registered security key
   * sets a new password). `recover --method` offers `email` (the address), these, and `qr`.
   */
  readonly recoversPassword: boolean;
  /** The shape of a typed code, for guessing the method from the code alone (`login --code`). */
  readonly codeShape?: RegExp;
}

export const FACTOR_KINDS = [
  {
    id: 'totp',
    label: 'Authenticator app code',
    name: 'the authenticator app',
    answer: 'code',
    confirmsIdentity: true,
    authenticator: true,
    recoversPassword: false,
    codeShape: /^\s*\d{6}\s*$/,
  },
  {
    id: 'email',
    label: 'Email code',
    name: 'email codes',
    answer: 'mailed-code',
    confirmsIdentity: true,
    authenticator: false,
    recoversPassword: false,
  },
  {
    id: 'key',
    label: 'Security key',
    name: 'security keys',
    answer: 'ceremony',
    confirmsIdentity: true,
    authenticator: true,
    recoversPassword: true,
  },
  {
    id: 'recovery',
    label: 'Recovery code',
    name: 'recovery codes',
    answer: 'code',
    confirmsIdentity: false,
    authenticator: false,
    recoversPassword: false,
  },
] as const satisfies readonly FactorKind[];

export type FactorId = (typeof FACTOR_KINDS)[number]['id'];

export function factorKind(id: string): FactorKind | undefined {
  return FACTOR_KINDS.find((k: FactorKind) => k.id === id);
}

/** The kind of a known id (the service's registry entries start from theirs). */
export function kindOf(id: FactorId): FactorKind {
  return FACTOR_KINDS.find((k: FactorKind) => k.id === id)!;
}

/** The ids of the kinds that pass `keep` (all of them by default), for `--method` choices. */
export function factorIds(keep: (kind: FactorKind) => boolean = () => true): FactorId[] {
  return FACTOR_KINDS.filter((k: FactorKind) => keep(k)).map((k) => k.id);
}

/** Which method a typed code looks like (a 6-digit code is the app's; else a recovery code). */
export function guessFactor(code: string): FactorId {
  return FACTOR_KINDS.find((k: FactorKind) => k.codeShape?.test(code))?.id ?? 'recovery';
}

/** Whether a method is answered in the browser (its ceremony's id stands for the code). */
export function isCeremony(id: string): boolean {
  return factorKind(id)?.answer === 'ceremony';
}

/** Whether a method's codes are mailed on request (`--send-code`). */
export function isMailed(id: string): boolean {
  return factorKind(id)?.answer === 'mailed-code';
}

/** The method `--send-code` means without `--method`: the first whose codes are mailed. */
export const MAILED_DEFAULT: FactorId = factorIds((k) => k.answer === 'mailed-code')[0]!;

/**
 * `recover --method` choices: `email` (a code to a recovery address, not the email factor), the factors
 * that recover a password, and `qr` (the recovery QR code).
 */
export const RECOVERY_METHODS: readonly string[] = ['email', ...factorIds((k) => k.recoversPassword), 'qr'];

/** The method `--code` means without `--method` when identity is confirmed: the first typed authenticator code. */
export const CODE_DEFAULT: FactorId = factorIds((k) => k.answer === 'code' && k.authenticator)[0]!;

/** The methods that confirm identity, for the `--method` of sensitive commands. */
export const IDENTITY_METHODS: FactorId[] = factorIds((k) => k.confirmsIdentity);

/** The authenticators (app, keys) that may show or renew recovery codes (SPEC §5). */
export const AUTHENTICATOR_METHODS: FactorId[] = factorIds((k) => k.authenticator);
