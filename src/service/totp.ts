import * as OTPAuth from 'otpauth';
import { AuthFailed, Conflict, NotFound } from '../errors.js';
import { kindOf } from '../factor-kinds.js';
import type { AccountRow } from '../store/accounts.js';
import { activateTotp, consumeTotpStep, deleteTotp, findTotp, putPendingTotp, type TotpRow } from '../store/totp.js';
import type { IdentityProof, TotpEnrollment, TotpEnabled } from '../views.js';
import { recordActivity } from './activity.js';
import { codeAccepted, codeCheck, codeFailed } from './code-attempts.js';
import type { Auth, RequestOrigin, SecondFactor, ServiceContext } from './context.js';
import { databaseKey, open, seal } from './encryption.js';
import { enableIdentityRule } from './factor-list.js';
import { confirmIdentity } from './identity.js';
import { issueRecoveryCodes } from './recovery-code-set.js';
import { notifySecurity, securityNotice } from './notifications.js';
import { disableMethod } from './second-factors.js';
import { confirmThrottleKey, type Throttle } from './throttle.js';
import { repairActivity, repairNote } from './repair-window.js';

// The authenticator app (RFC 6238 TOTP, SPEC §4.1), computed by otpauth.

export const PERIOD_SECONDS = 30;
export const DIGITS = 6;
/** 160 bits: RFC 4226 §4 asks for at least 128 and recommends 160. */
export const SECRET_BYTES = 20;
export const ENROLLMENT_MS = 10 * 60_000;
/** How far off a device clock may be for us to recognise its code and say so (still refused). */
const SKEW_STEPS = 20;

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** Copies the bytes: a Node Buffer may be a view into a larger shared pool. */
function otpSecret(bytes: Uint8Array): OTPAuth.Secret {
  return new OTPAuth.Secret({ buffer: new Uint8Array(bytes).buffer });
}

/** The code of `secret` at `timestampMs` (exported for the RFC 6238 Appendix B vectors). */
export function totpCode(
  secret: Uint8Array,
  timestampMs: number,
  algorithm: TotpAlgorithm = 'SHA1',
  digits = DIGITS,
): string {
  return OTPAuth.TOTP.generate({
    secret: otpSecret(secret),
    algorithm,
    digits,
    period: PERIOD_SECONDS,
    timestamp: timestampMs,
  });
}

/** The RFC 6238 time step of a moment. */
export function timeStep(timestampMs: number): number {
  return Math.floor(timestampMs / 1000 / PERIOD_SECONDS);
}

/** How many steps away from `timestampMs` the code matches, searching ±window; null when it does not. */
export function matchDelta(secret: Uint8Array, code: string, timestampMs: number, window: number): number | null {
  return OTPAuth.TOTP.validate({
    token: code,
    secret: otpSecret(secret),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
    timestamp: timestampMs,
    window,
  });
}

export function otpauthUri(issuer: string, username: string, secretBase32: string): string {
  return new OTPAuth.TOTP({
    issuer,
    label: username,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
  }).toString();
}

function secretContext(accountId: number): string {
  return `totp:${accountId}`;
}

function active(row: TotpRow | undefined): row is TotpRow & { enabled_at: number } {
  return row !== undefined && row.enabled_at !== null;
}

/**
 * Checks a code of `row`'s secret: RFC 6238 §5.2, one step either side; each step accepted once per
 * account whatever the command (the confirmation code included, so it cannot double as the first
 * sign-in code); failures count towards the throttle `key` of the flow; a code from a clock up to ten
 * minutes off is still refused, but the message says how far off the device looks.
 */
function verifyAgainst(
  ctx: ServiceContext,
  account: AccountRow,
  row: TotpRow,
  rawCode: string,
  origin: RequestOrigin,
  key: Throttle,
): Promise<void> {
  return codeCheck(ctx, account, 'totp', origin, key, () => {
    const code = rawCode.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code))
      throw codeFailed(ctx, account, 'totp', 'malformed', origin, 'wrong code: an authenticator code is 6 digits');
    const secret = open(databaseKey(ctx.db, ctx.keyring), row.secret, secretContext(account.id));
    const now = ctx.now();
    const delta = matchDelta(secret, code, now, 1);
    if (delta === null) {
      const far = matchDelta(secret, code, now, SKEW_STEPS);
      if (far !== null) {
        const seconds = Math.abs(far) * PERIOD_SECONDS;
        const way = far > 0 ? 'ahead' : 'behind';
        throw codeFailed(
          ctx,
          account,
          'totp',
          'clock-skew',
          origin,
          `wrong code: your device's clock looks about ${seconds} seconds ${way}; set it to automatic time and use a new code`,
        );
      }
      throw codeFailed(ctx, account, 'totp', 'wrong', origin, 'wrong code');
    }
    if (!consumeTotpStep(ctx.db, account.id, timeStep(now) + delta)) {
      throw codeFailed(ctx, account, 'totp', 'replay', origin, 'this code was already used; wait for the next one');
    }
    codeAccepted(ctx, account, 'totp', origin);
  });
}

/** Step 1 and 2 of SPEC §4.1: confirm identity, then a fresh secret kept pending for 10 minutes. */
export async function beginTotpEnrollment(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<TotpEnrollment> {
  const a = auth.account;
  if (active(findTotp(ctx.db, a.id))) {
    throw new Conflict(
      'the authenticator app is already active; disable and enable it again to change the seed (the seed cannot be shown again)',
    );
  }
  await confirmIdentity(ctx, auth, proof, origin, {
    always: true,
    accept: enableIdentityRule(ctx, a, 'totp'),
    repair: true,
  });
  const secret = new OTPAuth.Secret({ size: SECRET_BYTES });
  const now = ctx.now();
  const expiresAt = now + ENROLLMENT_MS;
  putPendingTotp(
    ctx.db,
    a.id,
    seal(databaseKey(ctx.db, ctx.keyring), Buffer.from(secret.bytes), secretContext(a.id)),
    now,
    expiresAt,
  );
  recordActivity(ctx, a.id, 'mfa.totp.enrollment_started', { origin, sessionId: auth.session.id });
  return {
    secret: secret.base32,
    uri: otpauthUri(ctx.policy.totpIssuer, a.username, secret.base32),
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

/** Steps 3 and 4: a code of the new secret activates it and issues 10 recovery codes. */
export async function confirmTotpEnrollment(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  origin: RequestOrigin,
): Promise<TotpEnabled> {
  const a = auth.account;
  const row = findTotp(ctx.db, a.id);
  if (active(row)) throw new Conflict('the authenticator app is already active');
  if (!row || (row.pending_expires_at ?? 0) <= ctx.now()) {
    throw new NotFound('no authenticator enrollment is pending (they last 10 minutes); run `acctsec mfa totp enable`');
  }
  await verifyAgainst(ctx, a, row, code, origin, confirmThrottleKey(a.id, auth.session.id));
  const recoveryCodes = ctx.db
    .transaction(() => {
      activateTotp(ctx.db, a.id, ctx.now());
      recordActivity(ctx, a.id, 'mfa.totp.enabled', {
        origin,
        sessionId: auth.session.id,
        ...repairActivity(ctx, auth),
      });
      return issueRecoveryCodes(ctx, a, origin);
    })
    .immediate();
  await notifySecurity(
    ctx,
    a,
    securityNotice(ctx, a, `the authenticator app was turned on as a second factor${repairNote(ctx, auth)}`, origin),
  );
  return { enabled: true, recoveryCodes };
}

/** SPEC §4.4: a current code of the app; the last method also needs an explicit yes. */
export function disableTotp(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  acknowledgeLast: boolean,
  origin: RequestOrigin,
): Promise<{ disabled: true; remainingMethods: string[] }> {
  return disableMethod(ctx, auth, totpFactor, code, acknowledgeLast, origin);
}

export const totpFactor: SecondFactor<TotpEnrollment, TotpEnabled> = {
  ...kindOf('totp'),
  isActive: (ctx, account) => active(findTotp(ctx.db, account.id)),
  status(ctx, account) {
    const row = findTotp(ctx.db, account.id);
    return {
      type: 'totp',
      enabled: active(row),
      enabledAt: active(row) ? new Date(row.enabled_at).toISOString() : null,
    };
  },
  async verify(ctx, account, code, origin, throttle) {
    const row = findTotp(ctx.db, account.id);
    if (!active(row)) throw new AuthFailed('the authenticator app is not active for this account', 'wrong_code');
    await verifyAgainst(ctx, account, row, code, origin, throttle);
    return [];
  },
  enrolment: {
    start: (ctx, auth, request, origin) => beginTotpEnrollment(ctx, auth, request.proof, origin),
    confirm: confirmTotpEnrollment,
  },
  disable: (ctx, auth, request, origin) => disableTotp(ctx, auth, request.code ?? '', request.acknowledgeLast, origin),
  removeAll: (ctx, accountId) => deleteTotp(ctx.db, accountId),
};
