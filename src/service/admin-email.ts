import { Conflict } from '../errors.js';
import type { AdminActionInput, AdminResult } from '../views.js';
import { validEmail } from './accounts.js';
import { same, startChange } from './account-email.js';
import { authorize, findTarget, validReason } from './admin.js';
import { appendAudit } from './audit.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { maskAddress } from './messages.js';
import type { Auth } from './sessions.js';

// Support changing an account's address (issue #20 §3): `admin users set-email`.

/**
 * `admin users set-email` (support): starts the same change the owner would, without identity
 * confirmation (staff act with a reason, audited); the owner confirms it through the new address,
 * so the agent never sees the code, and the old address is told.
 */
export async function adminSetEmail(
  ctx: ServiceContext,
  auth: Auth,
  username: string,
  raw: string,
  input: AdminActionInput,
  origin: RequestOrigin,
): Promise<AdminResult> {
  const reason = validReason(input.reason);
  authorize(ctx, auth, 'users.set-email', null, reason, origin);
  const address = validEmail(raw);
  const t = findTarget(ctx, username);
  authorize(ctx, auth, 'users.set-email', t, reason, origin);
  if (same(address, t.email)) throw new Conflict(`${address} is already the address of ${t.username}`);
  const result: AdminResult = {
    action: 'users.set-email',
    target: t.username,
    dryRun: Boolean(input.dryRun),
    changes: [
      `email a code to ${address}; the address changes when ${t.username} enters it (\`acctsec email confirm\`)`,
      `tell ${maskAddress(t.email)} of the request`,
    ],
  };
  if (input.dryRun) return result;
  await startChange(ctx, t, address, auth.account.username, origin);
  ctx.db
    .transaction(() =>
      appendAudit(ctx, {
        actor: auth.account.username,
        target: t.username,
        action: 'users.set-email',
        reason,
        outcome: 'ok',
        ip: origin.ip ?? null,
        detail: { changes: result.changes },
      }),
    )
    .immediate();
  return result;
}
