// Policies an administrator may tune (config keys `policy.*`). The floors are not tunable: they are
// the security rules of SPEC §2 and §3.

export interface Policy {
  /** SPEC §3: at least 12 code points (the seed); may be raised, never lowered below 8 (NIST floor). */
  passwordMinLength: number;
  /** The seed: "the recommended password rotation cadence is every six months". */
  passwordRotationMonths: number;
  sessionIdleHours: number;
  sessionMaxDays: number;
  /** The issuer in otpauth URIs: what authenticator apps show above the code. */
  totpIssuer: string;
  /** NIST SP 800-63B rev 4 does not count email as a factor: an administrator may turn it off for all. */
  allowEmailMfa: boolean;
  /** The newsletter catalogue `notifications subscribe` offers. */
  newsletters: string[];
  /**
   * Security keys: whether the key must verify its user (PIN, fingerprint) as well as their presence.
   * `preferred` asks for it where the key can; `required` refuses keys that do not; `discouraged` skips it.
   */
  keyUserVerification: 'preferred' | 'required' | 'discouraged';
  /** The provider's token scopes, after this tool's own (account:read, ip:write, notifications:write). */
  tokenScopes: string[];
}

export const defaultPolicy: Policy = {
  passwordMinLength: 12,
  passwordRotationMonths: 6,
  sessionIdleHours: 24,
  sessionMaxDays: 14,
  totpIssuer: 'acctsec',
  allowEmailMfa: true,
  newsletters: ['product-news', 'tips', 'events', 'status-updates'],
  keyUserVerification: 'preferred',
  tokenScopes: ['domains:read', 'domains:write', 'dns:read', 'dns:write', 'billing:read'],
};

/** The "sudo" window after a sign-in or an identity confirmation (SPEC §2, as GitHub and Kratos do). */
export const IDENTITY_WINDOW_MS = 10 * 60 * 1000;

export const PASSWORD_MAX_LENGTH = 256;

/** Consecutive failures allowed before a growing delay (SPEC §2, §4.1). */
export const FREE_FAILURES = 5;
