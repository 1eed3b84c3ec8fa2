import { openSessionRepairWindow } from '../store/repair-window.js';
import type { Auth, ServiceContext } from './context.js';

// Issue #20 §2, the repair window: a user who signed in with a recovery code has lost a second
// factor, and may, for 10 minutes in that session only, turn off or remove any second factor and enrol
// new ones without a code from the lost one. Everything else keeps its usual proof: the password where
// a flow asks for it, the identity confirmation of other sensitive changes, a fresh code for
// recovery codes. Threats (docs/repair-window.md): a stolen recovery code already gives a sign-in;
// the window adds only second-factor changes, each notified and logged, and it
// - is opened only by a sign-in that used a recovery code (never a normal sign-in, never a token),
// - ends 10 minutes after that sign-in, or with the session, whichever comes first,
// - is never extended: its end is written once, and judged against the session's start as well.

export const REPAIR_WINDOW_MS = 10 * 60_000;

/** At sign-in with a recovery code, inside the transaction that made the session. Returns its end. */
export function openRepairWindow(ctx: ServiceContext, sessionId: string): number {
  const until = ctx.now() + REPAIR_WINDOW_MS;
  openSessionRepairWindow(ctx.db, sessionId, until);
  return until;
}

/**
 * The window's end when it is open for this caller, else null. A token is never in one; the end is
 * capped at the session's start plus 10 minutes, whatever the column says.
 */
export function repairWindowEnd(ctx: ServiceContext, auth: Auth): number | null {
  const until = auth.session.repair_until;
  if (auth.viaToken || until === undefined || until === null) return null;
  const end = Math.min(until, auth.session.created_at + REPAIR_WINDOW_MS);
  return ctx.now() < end ? end : null;
}

export function inRepairWindow(ctx: ServiceContext, auth: Auth): boolean {
  return repairWindowEnd(ctx, auth) !== null;
}

/** For `status` and `mfa status`: the ISO end of an open window, or null. */
export function repairWindowUntil(ctx: ServiceContext, auth: Auth): string | null {
  const end = repairWindowEnd(ctx, auth);
  return end === null ? null : new Date(end).toISOString();
}

/** The activity detail of a change made in the window (merged into the change's own detail). */
export function repairDetail(ctx: ServiceContext, auth: Auth): { repairWindow?: true } {
  return inRepairWindow(ctx, auth) ? { repairWindow: true } : {};
}

/** recordActivity's options for an event without a detail of its own: `{repairWindow: true}` in the window. */
export function repairActivity(ctx: ServiceContext, auth: Auth): { detail?: { repairWindow: true } } {
  return inRepairWindow(ctx, auth) ? { detail: { repairWindow: true } } : {};
}

/** Said in the notice of a change made in the window. */
export function repairNote(ctx: ServiceContext, auth: Auth): string {
  return inRepairWindow(ctx, auth) ? ' (in the repair window of a sign-in with a recovery code)' : '';
}
