import { Command } from 'commander';
import type { Factory } from '../factory.js';
import { InvalidInput } from '../../errors.js';
import { askAgainOnError, isWrongSecret, readNewPassword, readPassword } from '../secrets.js';

const STRENGTH = ['very weak', 'weak', 'fair', 'strong', 'very strong'];

export function newCmdPassword(f: Factory): Command {
  const cmd = new Command('password').description('my password');
  cmd
    .command('change')
    .description('change my password; every other session is signed out')
    .option(
      '--password-stdin',
      'stdin line 1: the current password; line 2: the new one (line 3, if any, must repeat it)',
    )
    .addHelpText(
      'after',
      '\nWithout --password-stdin: ACCTSEC_PASSWORD (current) and ACCTSEC_NEW_PASSWORD (new), or masked prompts.\n' +
        'Rules: at least 12 characters (policy.passwordMinLength), at most 256, not a common password,\n' +
        'not containing the username, not the current one. Mixing letters, digits and symbols is advised.',
    )
    .action((o: { passwordStdin?: boolean }) => passwordChangeRun({ f, passwordStdin: Boolean(o.passwordStdin) }));
  return cmd;
}

export async function passwordChangeRun(opts: { f: Factory; passwordStdin: boolean }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  let current = await readPassword(f, { stdin: opts.passwordStdin, message: 'Current password:' });
  let next = await readNewPassword(f, { stdin: opts.passwordStdin, stdinLine: 1, env: 'ACCTSEC_NEW_PASSWORD' });
  const currentPrompted = !opts.passwordStdin && !process.env.ACCTSEC_PASSWORD;
  const nextPrompted = !opts.passwordStdin && !process.env.ACCTSEC_NEW_PASSWORD;
  // A wrong current password, or a new one the policy refuses, typed at a prompt is asked again.
  let ask: 'current' | 'next' | undefined;
  const result = await askAgainOnError(
    f,
    async () => {
      if (ask === 'current') current = await readPassword(f, { stdin: false, message: 'Current password:' });
      if (ask === 'next') next = await readNewPassword(f, { stdin: false, stdinLine: 1, env: 'ACCTSEC_NEW_PASSWORD' });
      ask = undefined;
      return backend.changePassword({ current, next });
    },
    (err) => {
      if (isWrongSecret(err) && currentPrompted) ask = 'current';
      else if (err instanceof InvalidInput && err.field === 'password' && nextPrompted) ask = 'next';
      return ask !== undefined;
    },
  );
  for (const n of result.notices) f.io.warn(n);
  if (f.globals.json) {
    f.io.json(result);
    return;
  }
  f.io.out(
    `Password changed. ${result.revokedSessions} other session${result.revokedSessions === 1 ? '' : 's'} signed out.`,
  );
  const s = result.strength;
  f.io.note(`Strength estimate: ${STRENGTH[s.score] ?? s.score} (${s.score}/4)${s.warning ? ` — ${s.warning}` : ''}`);
  for (const tip of s.suggestions) f.io.note(`  tip: ${tip}`);
}
