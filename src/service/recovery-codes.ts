import { timingSafeEqual } from 'node:crypto';
import { Conflict, InvalidInput } from '../errors.js';
import { CODE_DEFAULT, kindOf } from '../factor-kinds.js';
import {
  countUnusedRecoveryCodes,
  deleteRecoveryCodes,
  markRecoveryCodeUsed,
  unusedRecoveryCodes,
} from '../store/recovery-codes.js';
import type { RecoveryCodes } from '../views.js';
import { recordActivity } from './activity.js';
import { codeAccepted, codeCheck, codeFailed } from './code-attempts.js';
import type { Auth, RequestOrigin, SecondFactor, ServiceContext } from './context.js';
import { databaseKey, open } from './encryption.js';
import { activeFactors } from './factor-list.js';
import { confirmIdentity } from './identity.js';
import { notifySecurity, securityNotice } from './notifications.js';
import {
  canonicalRecoveryCode,
  formatRecoveryCode,
  issueRecoveryCodes,
  lowRecoveryCodesNotice,
  recoveryCodeContext,
} from './recovery-code-set.js';

// Recovery codes as a second factor (SPEC §5): usable at sign-in in place of any other factor; the set
// itself (issue, count, notice) is recovery-code-set.ts.

export const recoveryCodesFactor: SecondFactor = {
  ...kindOf('recovery'),
  isActive: (ctx, account) => countUnusedRecoveryCodes(ctx.db, account.id) > 0,
  status: () => null,
  async verify(ctx, account, typed, origin, throttle) {
    await codeCheck(ctx, account, 'recovery', origin, throttle, () => {
      const code = canonicalRecoveryCode(typed);
      if (!code)
        throw codeFailed(
          ctx,
          account,
          'recovery',
          'malformed',
          origin,
          'wrong code: a recovery code has 16 letters and digits, like abcd-efgh-jkmn-pqrs',
        );
      const key = databaseKey(ctx.db, ctx.keyring);
      const typedBytes = Buffer.from(code);
      let match: number | undefined;
      // Compare with every unused code, in constant time each, without stopping at the first match.
      for (const row of unusedRecoveryCodes(ctx.db, account.id)) {
        const stored = open(key, row.code, recoveryCodeContext(account.id));
        if (stored.length === typedBytes.length && timingSafeEqual(stored, typedBytes)) match = row.id;
      }
      // The UPDATE is the single-use guard: of two processes with the same code, one changes the row.
      if (match === undefined || !markRecoveryCodeUsed(ctx.db, match, ctx.now())) {
        throw codeFailed(ctx, account, 'recovery', 'wrong', origin, 'wrong or already used recovery code');
      }
      codeAccepted(ctx, account, 'recovery', origin);
    });
    const left = countUnusedRecoveryCodes(ctx.db, account.id);
    recordActivity(ctx, account.id, 'recovery_code.used', { origin, detail: { left } });
    await notifySecurity(ctx, account, securityNotice(ctx, account, `a recovery code was used (${left} left)`, origin));
    return [
      `recovery code accepted; ${left} left`,
      ...[lowRecoveryCodesNotice(left)].filter((n): n is string => n !== null),
    ];
  },
  // They come with an authenticator (the app's confirmation, the first key) and go with the last method.
  enrolment: null,
  disable: null,
  removeAll: (ctx, accountId) => void deleteRecoveryCodes(ctx.db, accountId),
};

/**
 * SPEC §5: a fresh authenticator code, whatever the window. An account whose keys brought its codes
 * may use a security key assertion instead (`method` key; the code is then the ceremony's id): a
 * security key is an authenticator too, and without this a key-only account could never see or
 * renew its codes. Issue #20 §2: an account that turned the app off and kept email codes keeps its
 * recovery codes; with no authenticator active, a fresh emailed code (the method that remains) is the
 * proof, asked whatever the window as for the app. Never the password alone, nor the repair window.
 */
async function confirmForRecoveryCodes(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  method: string,
  origin: RequestOrigin,
): Promise<void> {
  const active = activeFactors(ctx, auth.account);
  const authenticators = active.filter((f) => f.authenticator);
  const usable = authenticators.length > 0 ? authenticators : active.filter((f) => f.confirmsIdentity);
  if (usable.length === 0) {
    throw new Conflict(
      'no second factor is active, and recovery codes come with one: run `acctsec mfa totp enable` or `acctsec mfa key add`',
    );
  }
  if (!usable.some((f) => f.id === method)) {
    const what = usable.map((f) =>
      f.answer === 'ceremony'
        ? `a security key (--method ${f.id})`
        : f.answer === 'mailed-code'
          ? `${f.name} (--method ${f.id}; --send-code emails one)`
          : f.name,
    );
    throw new InvalidInput(`recovery codes need a fresh code of ${what.join(' or ')}`, '--method');
  }
  await confirmIdentity(ctx, auth, { secondFactor: { method, code } }, origin, {
    always: true,
    accept: { password: false, methods: [method] },
  });
}

export async function viewRecoveryCodes(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  origin: RequestOrigin,
  method: string = CODE_DEFAULT,
): Promise<RecoveryCodes> {
  await confirmForRecoveryCodes(ctx, auth, code, method, origin);
  const key = databaseKey(ctx.db, ctx.keyring);
  const codes = unusedRecoveryCodes(ctx.db, auth.account.id).map((row) =>
    formatRecoveryCode(open(key, row.code, recoveryCodeContext(auth.account.id)).toString()),
  );
  recordActivity(ctx, auth.account.id, 'recovery_codes.viewed', {
    origin,
    sessionId: auth.session.id,
    detail: { count: codes.length },
  });
  return { codes };
}

export async function regenerateRecoveryCodes(
  ctx: ServiceContext,
  auth: Auth,
  code: string,
  origin: RequestOrigin,
  method: string = CODE_DEFAULT,
): Promise<RecoveryCodes> {
  await confirmForRecoveryCodes(ctx, auth, code, method, origin);
  const codes = ctx.db.transaction(() => issueRecoveryCodes(ctx, auth.account, origin)).immediate();
  recordActivity(ctx, auth.account.id, 'recovery_codes.regenerated', { origin, sessionId: auth.session.id });
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(ctx, auth.account, 'your recovery codes were regenerated (the old ones no longer work)', origin),
  );
  return { codes };
}
