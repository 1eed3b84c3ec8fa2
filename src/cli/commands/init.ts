import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { Factory } from '../factory.js';
import { askAgainOnError, readNewPassword } from '../secrets.js';

export interface InitOptions {
  f: Factory;
  username?: string;
  email?: string;
  passwordStdin: boolean;
  bootstrapSecretFile?: string | undefined;
}

export function newCmdInit(f: Factory): Command {
  return new Command('init')
    .description('create the local database with its first account (role admin) and sign it in')
    .option('--username <name>', "the first account's username (3-64 of a-z 0-9 . _ -)")
    .option('--email <address>', "the first account's email address")
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option(
      '--bootstrap-secret-file <file>',
      "with --remote: the copy of the server's one-time bootstrap secret (DB.bootstrap-secret)",
    )
    .addHelpText(
      'after',
      '\nThe password comes from a prompt (typed twice), ACCTSEC_PASSWORD, or --password-stdin.' +
        '\nA remote server with no account yet is set up only with the one-time secret its `acctsec serve` wrote' +
        '\nbeside the database: --bootstrap-secret-file FILE, ACCTSEC_BOOTSTRAP_SECRET, or a prompt.',
    )
    .action((o: { username?: string; email?: string; passwordStdin?: boolean; bootstrapSecretFile?: string }) =>
      initRun({
        f,
        username: o.username,
        email: o.email,
        passwordStdin: Boolean(o.passwordStdin),
        bootstrapSecretFile: o.bootstrapSecretFile,
      }),
    );
}

export async function initRun(opts: InitOptions): Promise<void> {
  const { f } = opts;
  let username = opts.username ?? (await f.prompter.text('Username:', '--username'));
  let email = opts.email ?? (await f.prompter.text('Email address:', '--email'));
  let password = await readNewPassword(f, { stdin: opts.passwordStdin, stdinLine: 0, env: 'ACCTSEC_PASSWORD' });
  const passwordPrompted = !opts.passwordStdin && !process.env.ACCTSEC_PASSWORD;
  const bootstrapSecret = await readBootstrapSecret(f, opts.bootstrapSecretFile);
  const backend = await f.backendWith(undefined);
  // A bad value typed at a prompt is explained and asked again; the others are kept (issue #20 §6).
  let ask: 'username' | 'email' | 'password' | undefined;
  const result = await askAgainOnError(
    f,
    async () => {
      if (ask === 'username') username = await f.prompter.text('Username:', '--username');
      if (ask === 'email') email = await f.prompter.text('Email address:', '--email');
      if (ask === 'password')
        password = await readNewPassword(f, { stdin: false, stdinLine: 0, env: 'ACCTSEC_PASSWORD' });
      ask = undefined;
      return backend.init({ username, email, password }, bootstrapSecret);
    },
    (err) => {
      const field = err instanceof InvalidInput ? err.field : undefined;
      if (field === 'username' && opts.username === undefined) ask = 'username';
      else if (field === 'email' && opts.email === undefined) ask = 'email';
      else if (field === 'password' && passwordPrompted) ask = 'password';
      return ask !== undefined;
    },
  );
  const profiles = await f.profiles();
  await profiles.saveSession({
    token: result.session.token,
    sessionId: result.session.sessionId,
    username: result.account.username,
    location: backend.location,
  });
  // Issue #20 §3: the first address is confirmed with a code; until then it gets notices only.
  for (const w of result.warnings ?? []) f.io.warn(w);
  if (result.emailCode)
    f.io.note(
      `A code to confirm ${result.emailCode.sentTo} is on its way: run \`acctsec email confirm\` (until then the address gets notices, no codes).`,
    );
  const remembered = await f.rememberServer();
  if (remembered)
    f.io.note(
      `This profile now uses the server ${remembered} (config remote): later commands go there without --remote.`,
    );
  // A server names none of its files: the client shows where it is instead.
  const where =
    result.database === undefined
      ? { server: backend.location }
      : { database: result.database, keyFile: result.keyFile };
  if (f.globals.json) {
    f.io.json({ ...result.account, ...where, config: profiles.path, sessionId: result.session.sessionId });
    return;
  }
  f.io.out(`Created ${result.account.username} (${result.account.role}) and signed in.`);
  if (result.database === undefined) f.io.out(`  server          ${backend.location}`);
  else {
    f.io.out(`  database        ${result.database}`);
    f.io.out(`  encryption key  ${result.keyFile}   (keep it apart from database backups)`);
  }
  f.io.out(`  config          ${profiles.path}`);
  // First run: what a careful user does next (issue #20 §6).
  f.io.out('');
  f.io.out('Next steps:');
  f.io.out('  acctsec mfa totp enable      turn on a second factor (an authenticator app; or mfa key add)');
  f.io.out('  save the recovery codes it prints: they are the way back if the phone or key is lost');
  f.io.out('  acctsec recovery email add   an address to recover the password through');
}

/**
 * Remote mode only: the server's one-time bootstrap secret, from --bootstrap-secret-file,
 * ACCTSEC_BOOTSTRAP_SECRET or a masked prompt. Without one the server refuses (exit 7) and says why.
 */
async function readBootstrapSecret(f: Factory, file: string | undefined): Promise<string | undefined> {
  if (!(await f.isRemote())) {
    if (file !== undefined)
      throw new InvalidInput(
        '--bootstrap-secret-file is for setting up a remote server (--remote); a local `init` needs none',
        '--bootstrap-secret-file',
      );
    return undefined;
  }
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new InvalidInput(
        `cannot read --bootstrap-secret-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        '--bootstrap-secret-file',
      );
    }
  }
  if (process.env.ACCTSEC_BOOTSTRAP_SECRET) return process.env.ACCTSEC_BOOTSTRAP_SECRET.trim();
  if (!f.prompter.interactive) return undefined;
  return f.prompter.password(
    'Bootstrap secret (from DB.bootstrap-secret on the server):',
    '--bootstrap-secret-file or ACCTSEC_BOOTSTRAP_SECRET',
  );
}
