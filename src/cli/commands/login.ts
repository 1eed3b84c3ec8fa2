import { Command, Option } from 'commander';
import { MissingInput } from '../../errors.js';
import { factorIds, guessFactor, isCeremony, isMailed, MAILED_DEFAULT } from '../../factor-kinds.js';
import type { SecondFactorAnswer } from '../../views.js';
import type { Factory } from '../factory.js';
import { localTime } from '../format.js';
import { awaitBrowser, ceremonyOptions, parseTimeout, type CeremonyFlags } from '../key-ceremony.js';
import { askAgainOnError, isWrongSecret, mailedCodePrompt, readPassword, reportCodeSent } from '../secrets.js';

export interface LoginOptions extends CeremonyFlags {
  f: Factory;
  username?: string;
  method?: string;
  code?: string;
  sendCode: boolean;
  passwordStdin: boolean;
}

export function newCmdLogin(f: Factory): Command {
  return ceremonyOptions(
    new Command('login')
      .description('sign in: the password, then a code or security key of a second factor when one is active')
      .option('--username <name>', 'the account (default: the one this profile last used)')
      .addOption(
        new Option('--method <method>', 'second factor to use (default: guessed from the code)').choices(factorIds()),
      )
      .option('--code <code>', 'the one-time code of that method')
      .option('--send-code', `with --method ${MAILED_DEFAULT}: email a code, then run again with --code`)
      .option('--password-stdin', 'read the password from the first line of stdin')
      .addOption(
        new Option(
          '--device',
          'sign in to a server in a browser anywhere, with a code shown here (OAuth device login)',
        ).conflicts(['username', 'method', 'code', 'sendCode', 'passwordStdin']),
      ),
  )
    .addHelpText(
      'after',
      '\nThe password comes from a prompt, ACCTSEC_PASSWORD, or --password-stdin. With --method key, a browser page asks for\nyour security key instead of a code (--no-open prints its URL only).',
    )
    .action(
      (
        o: {
          username?: string;
          method?: string;
          code?: string;
          sendCode?: boolean;
          passwordStdin?: boolean;
          device?: boolean;
        } & CeremonyFlags,
      ) =>
        o.device
          ? deviceLogin(f, o.timeout)
          : loginRun({
              f,
              username: o.username,
              method: o.method,
              code: o.code,
              sendCode: Boolean(o.sendCode),
              passwordStdin: Boolean(o.passwordStdin),
              open: o.open,
              timeout: o.timeout,
            }),
    );
}

/** `login --device` (issue #21): its code is loaded only when asked for. */
async function deviceLogin(f: Factory, timeout: string | undefined): Promise<void> {
  const { deviceLoginRun } = await import('../device-login.js');
  return deviceLoginRun(f, { timeout });
}

export async function loginRun(opts: LoginOptions): Promise<void> {
  const { f } = opts;
  const profiles = await f.profiles();
  const previous = profiles.session();
  const usernamePrompted = opts.username === undefined && previous?.username === undefined;
  let username = opts.username ?? previous?.username ?? (await f.prompter.text('Username:', '--username'));
  let password = await readPassword(f, { stdin: opts.passwordStdin });
  const passwordPrompted = !opts.passwordStdin && !process.env.ACCTSEC_PASSWORD;
  const backend = await f.backendWith(undefined);
  if (opts.sendCode) {
    const method = opts.method ?? MAILED_DEFAULT;
    reportCodeSent(
      f,
      await backend.sendSignInCode({ username, password, method }),
      `acctsec login --username ${username} --method ${method} --code <code>`,
    );
    return;
  }
  parseTimeout(opts.timeout);
  /** A key answers in the browser: its ceremony's id stands for the code. */
  const keyAnswer = async (method: string): Promise<SecondFactorAnswer> => {
    const ceremony = await backend.beginKeySignIn({ username, password });
    await awaitBrowser(f, backend, ceremony, opts, `Sign in as ${username}`);
    return { method, code: ceremony.ceremonyId };
  };
  const answer: SecondFactorAnswer | undefined =
    opts.method && isCeremony(opts.method)
      ? await keyAnswer(opts.method)
      : opts.code
        ? { method: opts.method ?? guessFactor(opts.code), code: opts.code }
        : undefined;
  // A wrong username or password typed at the prompts is asked again (issue #20 §6); the throttle
  // counts every try.
  let askAgain = false;
  let result = await askAgainOnError(
    f,
    async () => {
      if (askAgain) {
        if (usernamePrompted) username = await f.prompter.text('Username:', '--username', { default: username });
        password = await readPassword(f, { stdin: false });
        askAgain = false;
      }
      return backend.signIn({ username, password, ...(answer ? { secondFactor: answer } : {}) });
    },
    (err) => (askAgain = passwordPrompted && answer === undefined && err.slug === 'auth_failed'),
  );
  if (result.status === 'second-factor-required') {
    const methods = result.methods;
    const names = methods.map((m) => m.id).join(', ');
    if (!f.prompter.interactive) {
      throw new MissingInput(
        `this account needs a second factor: pass --method and --code (active: ${names}${methods
          .filter((m) => isMailed(m.id))
          .map((m) => `; --method ${m.id} --send-code emails a code`)
          .join('')})`,
      );
    }
    const method =
      opts.method ??
      (methods.length === 1
        ? methods[0]!.id
        : await f.prompter.select(
            'Second factor:',
            '--method',
            methods.map((m) => ({ value: m.id, name: m.label })),
          ));
    if (isMailed(method)) {
      const sent = await backend.sendSignInCode({ username, password, method });
      f.io.note(`A code is on its way to ${sent.sentTo}.`);
    }
    const code = () =>
      isMailed(method)
        ? mailedCodePrompt(f, `Code (${method}):`, () => backend.sendSignInCode({ username, password, method }))
        : f.prompter.text(`Code (${method}):`, '--code');
    // A wrong or mistyped code is asked again, up to three tries; each counts in the throttle.
    result = isCeremony(method)
      ? await backend.signIn({ username, password, secondFactor: await keyAnswer(method) })
      : await askAgainOnError(
          f,
          async () => backend.signIn({ username, password, secondFactor: { method, code: await code() } }),
          isWrongSecret,
        );
    if (result.status !== 'signed-in') throw new MissingInput(`a second factor is needed (active: ${names})`);
  }
  const { session, notices } = result;
  await profiles.saveSession({
    token: session.token,
    sessionId: session.sessionId,
    username: session.username,
    location: backend.location,
  });
  // The profile's earlier session is ended, not left behind unused.
  if (previous && previous.location === backend.location && previous.token !== session.token) {
    await (await f.backendWith(previous.token)).signOut().catch(() => undefined);
  }
  const remembered = await f.rememberServer();
  if (remembered)
    f.io.note(
      `This profile now uses the server ${remembered} (config remote): later commands go there without --remote.`,
    );
  for (const n of notices) f.io.note(n);
  // Issue #20 §2: a recovery-code sign-in opened the repair window.
  const repair = result.repairWindowUntil;
  if (f.globals.json) {
    f.io.json({
      username: session.username,
      sessionId: session.sessionId,
      expiresAt: session.expiresAt,
      notices,
      ...(repair ? { repairWindowUntil: repair } : {}),
    });
    return;
  }
  f.io.out(`Signed in as ${session.username} (session ${session.sessionId}, ends by ${localTime(session.expiresAt)}).`);
  if (repair)
    f.io.out(
      `Repair window open until ${localTime(repair)}: you may turn off or remove a lost second factor (acctsec mfa totp disable, mfa email disable, mfa key remove) and enrol new ones without a code from it.`,
    );
}
