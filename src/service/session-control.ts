import type { IdentityProof } from '../views.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { confirmIdentity } from './identity.js';
import { revokeOne, revokeOthers, type Auth } from './sessions.js';
import { notifySecurity, securityNotice } from './notifications.js';

// `logout` and `sessions revoke`: ending sessions is a sensitive change (SPEC §2) except one's own.

export function signOut(ctx: ServiceContext, auth: Auth, origin: RequestOrigin): void {
  revokeOne(ctx, auth, auth.session.id);
  recordActivity(ctx, auth.account.id, 'signout', { origin, sessionId: auth.session.id });
}

export async function revokeSessionById(
  ctx: ServiceContext,
  auth: Auth,
  id: string,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<void> {
  await confirmIdentity(ctx, auth, proof, origin);
  revokeOne(ctx, auth, id);
  recordActivity(ctx, auth.account.id, 'session.revoked', {
    origin,
    sessionId: auth.session.id,
    detail: { session: id },
  });
  // Issue #20 §4: ending a session is a security notice.
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(ctx, auth.account, `the session ${id} was signed out`, origin),
  );
}

export async function revokeOtherSessions(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<{ revoked: number }> {
  await confirmIdentity(ctx, auth, proof, origin);
  const revoked = revokeOthers(ctx, auth);
  recordActivity(ctx, auth.account.id, 'sessions.revoked_others', {
    origin,
    sessionId: auth.session.id,
    detail: { revoked },
  });
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(ctx, auth.account, `every other session was signed out (${revoked})`, origin),
  );
  return { revoked };
}
