import type { Backend } from '../backend/backend.js';
import type { MfaStatus } from '../views.js';
import type { Factory } from './factory.js';
import { localTime } from './format.js';

// Issue #20 §2: inside the repair window of a recovery-code sign-in, commands that change second
// factors do not ask for a code of the lost one (the back end decides; this only spares the prompt).

/** Whether the session's repair window is open, by the back end's word. */
export function repairWindowOpen(status: MfaStatus): boolean {
  return typeof status.repairWindowUntil === 'string';
}

/**
 * The code a disable needs, or '' in the repair window: said once on stderr, no prompt. `ask` prompts
 * (or fails under --no-input) as the command does outside the window.
 */
export async function codeUnlessRepairing(
  f: Factory,
  backend: Backend,
  given: string | undefined,
  ask: () => Promise<string>,
): Promise<string> {
  if (given !== undefined) return given;
  const status = await backend.mfaStatus();
  if (repairWindowOpen(status)) {
    f.io.note(`Repair window open until ${localTime(status.repairWindowUntil!)}: no code of this factor is needed.`);
    return '';
  }
  return ask();
}
