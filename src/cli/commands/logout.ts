import { Command } from 'commander';
import { AcctsecError, AuthFailed } from '../../errors.js';
import type { Factory } from '../factory.js';

export function newCmdLogout(f: Factory): Command {
  return new Command('logout').description("end this profile's session").action(() => logoutRun({ f }));
}

export async function logoutRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const profiles = await f.profiles();
  const saved = profiles.session();
  if (!saved) throw new AuthFailed('not signed in (nothing to log out of)', 'not_signed_in');
  let ended = true;
  try {
    await (await f.backend()).signOut();
  } catch (err) {
    // An expired or revoked session is already over: forget it all the same.
    if (!(err instanceof AcctsecError) || err.exitCode !== 3) throw err;
    ended = false;
  }
  await profiles.clearSession();
  if (f.globals.json) f.io.json({ signedOut: true, sessionId: saved.sessionId });
  else
    f.io.out(
      ended
        ? `Signed out ${saved.username} (session ${saved.sessionId}).`
        : `The session of ${saved.username} had already ended; forgotten.`,
    );
}
