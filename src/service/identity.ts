import { IdentityRequired } from '../errors.js';
import { markSessionAuthenticated } from '../store/sessions.js';
import type { IdentityProof } from '../views.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { IDENTITY_WINDOW_MS } from './policy.js';
import { identityFactors } from './factor-list.js';
import type { Auth } from './sessions.js';
import { checkPassword } from './credentials.js';
import { confirmThrottleKey } from './throttle.js';
import { inRepairWindow } from './repair-window.js';

export interface ConfirmOptions {
  /** Ignore the 10-minute window: MFA changes and recovery codes always confirm explicitly (SPEC §2). */
  always?: boolean;
  /**
   * Which proofs are accepted: the password and/or the named methods (when active). By default the
   * password and every active method but recovery codes.
   */
  accept?: { password: boolean; methods?: string[] };
  /**
   * A second-factor change (issue #20 §2): inside the session's repair window, where only a code of a
   * second factor would be accepted, the window stands for it. Where the password is asked, it still is.
   */
  repair?: boolean;
}

/**
 * SPEC §2 "confirm identity" for sensitive changes: a session that signed in or confirmed within the
 * last 10 minutes counts (a "sudo" window, as GitHub and Kratos do); otherwise the password or a code
 * of an active second factor. A success reopens the window. The one helper every feature reuses.
 * Wrong proofs count in the session's own throttle (issue #15): they never block the owner's sign-in.
 */
export async function confirmIdentity(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
  options: ConfirmOptions = {},
): Promise<void> {
  const now = ctx.now();
  if (!options.always && now - auth.session.authenticated_at < IDENTITY_WINDOW_MS) return;
  const accept = options.accept ?? { password: true };
  if (options.repair && !accept.password && inRepairWindow(ctx, auth)) {
    // Not a confirmation: the sudo window is not reopened by it, so nothing else gets easier.
    recordActivity(ctx, auth.account.id, 'identity.confirmed', {
      origin,
      sessionId: auth.session.id,
      detail: { method: 'repair-window' },
    });
    return;
  }
  const factors = identityFactors(ctx, auth.account).filter((f) => !accept.methods || accept.methods.includes(f.id));
  const answer = proof?.secondFactor;
  const factor = answer ? factors.find((f) => f.id === answer.method) : undefined;
  const throttle = confirmThrottleKey(auth.account.id, auth.session.id);
  if (answer && factor) {
    await factor.verify(ctx, auth.account, answer.code, origin, throttle);
  } else if (proof?.password !== undefined && accept.password) {
    await checkPassword(ctx, auth.account.username, proof.password, origin, {
      message: 'wrong password',
      event: 'identity.failed',
      throttle,
    });
  } else {
    throw new IdentityRequired({ password: accept.password, methods: factors.map((f) => f.id) });
  }
  markSessionAuthenticated(ctx.db, auth.session.id, now);
  auth.session.authenticated_at = now;
  recordActivity(ctx, auth.account.id, 'identity.confirmed', {
    origin,
    sessionId: auth.session.id,
    detail: { method: factor ? factor.id : 'password' },
  });
}
