import { Command } from 'commander';
import type { Factory } from '../factory.js';
import { readNewPassword } from '../secrets.js';

export interface InitOptions {
  f: Factory;
  username?: string;
  email?: string;
  passwordStdin: boolean;
}

export function newCmdInit(f: Factory): Command {
  return new Command('init')
    .description('create the local database with its first account (role admin) and sign it in')
    .option('--username <name>', 'the first account\'s username (3-64 of a-z 0-9 . _ -)')
    .option('--email <address>', 'the first account\'s email address')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .addHelpText('after', '\nThe password comes from a prompt (typed twice), ACCTSEC_PASSWORD, or --password-stdin.')
    .action((o: { username?: string; email?: string; passwordStdin?: boolean }) =>
      initRun({ f, username: o.username, email: o.email, passwordStdin: Boolean(o.passwordStdin) }),
    );
}

export async function initRun(opts: InitOptions): Promise<void> {
  const { f } = opts;
  const username = opts.username ?? (await f.prompter.text('Username:', '--username'));
  const email = opts.email ?? (await f.prompter.text('Email address:', '--email'));
  const password = await readNewPassword(f, { stdin: opts.passwordStdin, stdinLine: 0, env: 'ACCTSEC_PASSWORD' });
  const backend = await f.backendWith(undefined);
  const result = await backend.init({ username, email, password });
  const profiles = await f.profiles();
  profiles.saveSession({
    token: result.session.token,
    sessionId: result.session.sessionId,
    username: result.account.username,
    location: backend.location,
  });
  if (f.globals.json) {
    f.io.json({ ...result.account, database: result.database, keyFile: result.keyFile, config: profiles.path, sessionId: result.session.sessionId });
    return;
  }
  f.io.out(`Created ${result.account.username} (${result.account.role}) and signed in.`);
  f.io.out(`  database        ${result.database}`);
  f.io.out(`  encryption key  ${result.keyFile}   (keep it apart from database backups)`);
  f.io.out(`  config          ${profiles.path}`);
}
