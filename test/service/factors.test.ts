import { describe, expect, it } from 'vitest';
import { FACTOR_KINDS, factorKind, RECOVERY_METHODS } from '../../src/factor-kinds.js';
import { FACTORS } from '../../src/service/factors.js';
import { createUser, recoverWithResetToken, resetMfa } from '../../src/service/admin.js';
import type { ServiceContext } from '../../src/service/context.js';
import { mfaOverview } from '../../src/service/second-factors.js';
import { authenticate } from '../../src/service/sessions.js';
import { signIn } from '../../src/service/sign-in.js';
import { beginTotpEnrollment, confirmTotpEnrollment, totpCode } from '../../src/service/totp.js';
import { countRecoveryCodes } from '../../src/store/recovery-codes.js';
import { base32Decode } from '../rfc6238.js';
import { PASSWORD, testContext, withAlice } from './context.js';

// Issue #16: the second factors are one list (service/factors.ts) that every service reads from the
// context, and the CLI's plain-data kinds (src/factor-kinds.ts) name the same methods.

describe('the factor registry', () => {
  it("lists the same methods as the CLI's factor kinds, in the same order, each with its kind", () => {
    expect(FACTORS.map((f) => f.id)).toEqual(FACTOR_KINDS.map((k) => k.id));
    for (const f of FACTORS) {
      const kind = factorKind(f.id)!;
      expect({
        id: f.id,
        label: f.label,
        name: f.name,
        answer: f.answer,
        confirmsIdentity: f.confirmsIdentity,
        authenticator: f.authenticator,
        recoversPassword: f.recoversPassword,
      }).toEqual({
        id: kind.id,
        label: kind.label,
        name: kind.name,
        answer: kind.answer,
        confirmsIdentity: kind.confirmsIdentity,
        authenticator: kind.authenticator,
        recoversPassword: kind.recoversPassword,
      });
    }
  });

  it('the methods that recover a password (recover --method) are the factors that can check a recovery answer', () => {
    expect(FACTORS.filter((f) => f.verifyRecovery).map((f) => f.id)).toEqual(
      FACTOR_KINDS.filter((k) => k.recoversPassword).map((k) => k.id),
    );
    expect(RECOVERY_METHODS).toEqual(['email', 'key', 'qr']);
  });

  it('every method that confirms identity can be enrolled and disabled; the fallback (recovery codes) neither', () => {
    for (const f of FACTORS) {
      expect(f.enrolment !== null, f.id).toBe(f.confirmsIdentity);
      expect(f.disable !== null, f.id).toBe(f.confirmsIdentity);
      expect(typeof f.removeAll, f.id).toBe('function');
    }
  });

  it('services read the list from the context: a context without a method never offers it', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const enrolment = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    await confirmTotpEnrollment(ctx, auth, totpCode(base32Decode(enrolment.secret), ctx.now()), {});
    expect(mfaOverview(ctx, auth.account).methods.map((m) => m.type)).toEqual(['totp', 'email', 'key']);
    const withoutKeys = { ...ctx, factors: FACTORS.filter((f) => f.id !== 'key') };
    expect(mfaOverview(withoutKeys, auth.account).methods.map((m) => m.type)).toEqual(['totp', 'email']);
  });

  it("admin reset-mfa removes through the registry: every method's removeAll runs", async () => {
    const ctx = testContext();
    const { auth: admin } = await withAlice(ctx);
    const created = await createUser(
      ctx,
      admin,
      { username: 'uma', email: 'uma@example.com', reason: 'new hire', printToken: true },
      {},
    );
    await recoverWithResetToken(ctx, { username: 'uma', token: created.resetToken!, newPassword: PASSWORD }, {});
    const signedIn = await signIn(ctx, { username: 'uma', password: PASSWORD }, {});
    const uma = authenticate(ctx, signedIn.status === 'signed-in' ? signedIn.session.token : '');
    const enrolment = await beginTotpEnrollment(ctx, uma, { password: PASSWORD }, {});
    await confirmTotpEnrollment(ctx, uma, totpCode(base32Decode(enrolment.secret), ctx.now()), {});
    expect(countRecoveryCodes(ctx.db, uma.account.id)).toBe(10);
    const called: string[] = [];
    const spying = {
      ...ctx,
      factors: FACTORS.map((f) => ({
        ...f,
        removeAll: (c: ServiceContext, id: number) => (called.push(f.id), f.removeAll(c, id)),
      })),
    };
    await resetMfa(spying, admin, 'uma', { reason: 'lost phone, ticket 42' }, {});
    expect(called).toEqual(FACTORS.map((f) => f.id));
    expect(mfaOverview(ctx, uma.account).methods.every((m) => !m.enabled)).toBe(true);
    expect(countRecoveryCodes(ctx.db, uma.account.id)).toBe(0);
  });
});
