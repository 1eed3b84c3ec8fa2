import type { ActivityEntry } from '../views.js';
import { insertActivity, listActivity } from '../store/activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';

/** The security log of SPEC §2. Never give it a secret: only names, ids, counts and outcomes. */
export function recordActivity(
  ctx: ServiceContext,
  accountId: number,
  event: string,
  options: { detail?: Record<string, unknown>; origin?: RequestOrigin; sessionId?: string | null } = {},
): void {
  insertActivity(ctx.db, {
    account_id: accountId,
    at: ctx.now(),
    event,
    detail: options.detail ? JSON.stringify(options.detail) : null,
    ip: options.origin?.ip ?? null,
    session_id: options.sessionId ?? null,
  });
}

export function accountActivity(ctx: ServiceContext, accountId: number, limit: number): ActivityEntry[] {
  return listActivity(ctx.db, accountId, limit).map((row) => ({
    time: new Date(row.at).toISOString(),
    event: row.event,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
    ip: row.ip,
    sessionId: row.session_id,
  }));
}
