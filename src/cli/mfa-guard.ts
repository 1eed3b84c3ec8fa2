import { InvalidInput } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import type { Factory } from './factory.js';

/**
 * SPEC §4.4 before disabling a method: when it is the last one, warn, and go on only with --yes or a
 * yes at the prompt. Returns whether it is the last (the back end wants to hear it was agreed), or
 * null when the user declined.
 */
export async function confirmDisable(f: Factory, backend: Backend, method: string): Promise<boolean | null> {
  const status = await backend.mfaStatus();
  const others = status.methods.filter((m) => m.enabled && m.type !== method);
  const last = status.methods.some((m) => m.type === method && m.enabled) && others.length === 0;
  if (!last) return false;
  f.io.warn('this is your last second factor: without it, sign-in falls back to the password alone');
  if (f.globals.yes) return true;
  if (!f.prompter.interactive)
    throw new InvalidInput('disabling the last second factor needs --yes under --no-input', '--yes');
  if (await f.prompter.confirm('Disable it anyway?', '--yes', false)) return true;
  f.io.note('Nothing changed.');
  return null;
}
