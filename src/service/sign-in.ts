import { InvalidInput } from '../errors.js';
import type { EmailCodeSent, SignInInput, SignInResult } from '../views.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { checkPassword } from './credentials.js';
import { activeFactors, factorChoices } from './factor-list.js';
import { sendFactorCode } from './second-factors.js';
import { createSession } from './sessions.js';
import { signInCodeThrottleKey } from './throttle.js';
import { noticeNewSignInSource } from './known-sign-ins.js';
import { openRepairWindow } from './repair-window.js';

/** `login --method email --send-code`: the password first, then a code to the method's address. */
export async function sendSignInCode(
  ctx: ServiceContext,
  input: { username: string; password: string; method: string },
  origin: RequestOrigin,
): Promise<EmailCodeSent> {
  const account = await checkPassword(ctx, input.username, input.password, origin);
  return sendFactorCode(ctx, account, input.method, origin);
}

/**
 * SPEC §2 sign-in: the password, then one code from whichever active second factor the user picks.
 * Without a code while a factor is active, the answer lists the methods and no session is made.
 */
export async function signIn(ctx: ServiceContext, input: SignInInput, origin: RequestOrigin): Promise<SignInResult> {
  if (!input.username.trim()) throw new InvalidInput('a username is needed', '--username');
  const account = await checkPassword(ctx, input.username, input.password, origin);
  const factors = activeFactors(ctx, account);
  const notices: string[] = [];
  let method = 'password';
  /** Issue #20 §2: a sign-in with a fallback (a recovery code) means a factor is lost: it opens the repair window. */
  let repair = false;
  if (factors.length > 0) {
    if (!input.secondFactor) return { status: 'second-factor-required', methods: factorChoices(factors) };
    const factor = factors.find((f) => f.id === input.secondFactor?.method);
    if (!factor) {
      const names = factors.map((f) => f.id).join(', ');
      throw new InvalidInput(
        `"${input.secondFactor.method}" is not an active method for this account; use one of: ${names}`,
        '--method',
      );
    }
    // Its own throttle: only someone who knew the password can fill it (issue #15).
    notices.push(
      ...(await factor.verify(ctx, account, input.secondFactor.code, origin, signInCodeThrottleKey(account.id))),
    );
    method = factor.id;
    repair = !factor.confirmsIdentity;
  }
  const { session, repairUntil } = ctx.db.transaction(() => {
    const from = { ...origin, client: input.client ?? origin.client };
    const grant = createSession(ctx, account, from);
    const until = repair ? openRepairWindow(ctx, grant.sessionId) : null;
    recordActivity(ctx, account.id, 'signin.succeeded', {
      origin,
      sessionId: grant.sessionId,
      detail: { method, ...(until === null ? {} : { repairWindowUntil: new Date(until).toISOString() }) },
    });
    noticeNewSignInSource(ctx, account, from, grant.sessionId);
    return { session: grant, repairUntil: until };
  })();
  if (repairUntil === null) return { status: 'signed-in', session, notices };
  // The CLI says so after sign-in (a line after "Signed in as"), and `status` shows it.
  return { status: 'signed-in', session, notices, repairWindowUntil: new Date(repairUntil).toISOString() };
}
