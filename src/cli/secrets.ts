import { AcctsecError, InvalidInput, IdentityRequired, MissingInput, Throttled } from '../errors.js';
import { Option, type Command } from 'commander';
import type { Backend } from '../backend/backend.js';
import { CODE_DEFAULT, factorKind, IDENTITY_METHODS, isCeremony, isMailed, MAILED_DEFAULT } from '../factor-kinds.js';
import type { EmailCodeSent, IdentityProof } from '../views.js';
import type { Factory } from './factory.js';
import { awaitBrowser, ceremonyOptions, type CeremonyFlags } from './key-ceremony.js';

/** A security key assertion to confirm identity: its ceremony's id is the key method's "code". */
export async function keyProof(f: Factory, backend: Backend, flags: CeremonyFlags): Promise<string> {
  const ceremony = await backend.beginKeyProof();
  await awaitBrowser(f, backend, ceremony, flags, 'Confirm it is you with your security key');
  return ceremony.ceremonyId;
}

// Secrets never come from command-line arguments (they would show in `ps` and shell history): a masked
// prompt, `--password-stdin`, or ACCTSEC_PASSWORD / ACCTSEC_NEW_PASSWORD (SPEC §1).

let stdinLines: Promise<string[]> | undefined;

/** All of stdin, split in lines, read once per process. */
export function readStdinLines(): Promise<string[]> {
  stdinLines ??= (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
  })();
  return stdinLines;
}

async function stdinLine(index: number, what: string): Promise<string> {
  const line = (await readStdinLines())[index];
  if (line === undefined || line === '')
    throw new MissingInput(`--password-stdin: line ${index + 1} of stdin should hold ${what}, and it is empty`);
  return line;
}

export const PASSWORD_SOURCES = 'ACCTSEC_PASSWORD or --password-stdin';

/** The password of the account (sign-in, identity confirmation, the current one for a change). */
export async function readPassword(f: Factory, options: { stdin: boolean; message?: string }): Promise<string> {
  if (options.stdin) return stdinLine(0, 'the password');
  const env = process.env.ACCTSEC_PASSWORD;
  if (env) return env;
  return f.prompter.password(options.message ?? 'Password:', PASSWORD_SOURCES);
}

/**
 * A new password: from stdin (line `stdinLine`, optionally repeated on the next line), the given
 * environment variable, or a masked prompt typed twice; a mismatched repeat is asked again.
 */
export async function readNewPassword(
  f: Factory,
  options: { stdin: boolean; stdinLine: number; env: string },
): Promise<string> {
  if (options.stdin) {
    const value = await stdinLine(options.stdinLine, 'the new password');
    const repeat = (await readStdinLines())[options.stdinLine + 1];
    if (repeat && repeat !== value)
      throw new InvalidInput('the repeated new password does not match', '--password-stdin');
    return value;
  }
  const env = process.env[options.env];
  if (env) return env;
  const supply = `${options.env} or --password-stdin`;
  for (;;) {
    const first = await f.prompter.password('New password:', supply);
    const second = await f.prompter.password('Repeat new password:', supply);
    if (first === second) return first;
    f.io.warn('the two passwords differ; try again');
  }
}

/** How many tries a value typed at a prompt gets before the command ends (issue #20 §6). */
export const PROMPT_TRIES = 3;

/**
 * Runs `attempt`; when the back end refuses a value that was typed at a prompt (a bad username or
 * address, a short or common password, a wrong password or code), says why and runs it again with
 * that value asked anew, up to PROMPT_TRIES tries in all, instead of ending the command after
 * everything was typed (issue #20 §6). `forget(err)` clears the prompted value the error is about and
 * says whether it did: a value from a flag, stdin or the environment is never asked again (a script
 * gets its exit code at once), and nothing is retried without a terminal. Each try reaches the back
 * end, so its throttles count every wrong password or code; a throttle (exit 6) ends the command.
 */
export async function askAgainOnError<T>(
  f: Factory,
  attempt: () => Promise<T>,
  forget: (err: AcctsecError) => boolean,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (
        !f.prompter.interactive ||
        tries >= PROMPT_TRIES ||
        !(err instanceof AcctsecError) ||
        err.exitCode === 6 || // throttled: the wait it names is the answer
        err.exitCode >= 7 ||
        !forget(err)
      )
        throw err;
      f.io.warn(`${err.message} (try ${tries + 1} of ${PROMPT_TRIES})`);
    }
  }
}

/** A refused password or code: wrong, malformed, or expired (exit 3 or a code's exit 2). */
export function isWrongSecret(err: AcctsecError): boolean {
  return err.exitCode === 3 && (err.slug === 'auth_failed' || err.slug === 'wrong_code');
}

/**
 * The code of an emailed method at a prompt: an empty answer asks for a new code (`resend`, within the
 * back end's resend limit) and asks again (issue #20 §6).
 */
export async function mailedCodePrompt(
  f: Factory,
  message: string,
  resend: () => Promise<{ sentTo: string }>,
): Promise<string> {
  for (;;) {
    const code = (await f.prompter.text(`${message} (Enter alone: send a new code)`, '--code')).trim();
    if (code !== '') return code;
    try {
      const sent = await resend();
      f.io.note(`A new code is on its way to ${sent.sentTo}.`);
    } catch (err) {
      // The resend limit: said, and the code already sent is still asked for.
      if (!(err instanceof Throttled)) throw err;
      f.io.warn(err.message);
    }
  }
}

export interface IdentityFlags extends CeremonyFlags {
  passwordStdin?: boolean;
  method?: string;
  code?: string;
  sendCode?: boolean;
}

/**
 * The options every sensitive command takes to confirm identity without a prompt; with the browser
 * page's (--no-open, --timeout), since `--method key` confirms in one (issue #20 §6: 16 commands that
 * offered the key method refused them).
 */
export function identityOptions(cmd: Command): Command {
  return ceremonyOptions(cmd)
    .option('--password-stdin', 'confirm identity with the password from stdin')
    .addOption(
      new Option(
        '--method <method>',
        `confirm identity with this second factor instead (${IDENTITY_METHODS.filter(isCeremony).join(', ')}: in the browser)`,
      ).choices(IDENTITY_METHODS),
    )
    .option('--code <code>', 'a code of that method')
    .option('--send-code', `email a code for --method ${MAILED_DEFAULT}, then run again with --code`);
}

export function reportCodeSent(f: Factory, sent: EmailCodeSent, next: string): void {
  for (const n of sent.notices ?? []) f.io.warn(n);
  if (f.globals.json) f.io.json(sent);
  else
    f.io.out(`A code is on its way to ${sent.sentTo} (valid until ${sent.expiresAt.slice(11, 16)} UTC). Then: ${next}`);
}

/**
 * `--send-code` on a sensitive command: emails an identity code and stops. Returns whether it did,
 * so the command returns without making its change.
 */
export async function sendIdentityCodeIfAsked(
  f: Factory,
  backend: Backend,
  flags: IdentityFlags,
  command: string,
): Promise<boolean> {
  if (!flags.sendCode) return false;
  const method = flags.method ?? MAILED_DEFAULT;
  reportCodeSent(f, await backend.sendFactorCode(method), `acctsec ${command} --method ${method} --code <code>`);
  return true;
}

/**
 * Runs a sensitive change (SPEC §2). It is tried first without proof (inside the 10-minute window it
 * needs none); when the back end asks for identity, the proof comes from --code, ACCTSEC_PASSWORD or
 * --password-stdin, or a prompt, and the change is tried once more.
 */
export async function withIdentity<T>(
  f: Factory,
  flags: IdentityFlags,
  backend: Backend,
  change: (proof?: IdentityProof) => Promise<T>,
): Promise<T> {
  let upfront: IdentityProof | undefined = flags.code
    ? { secondFactor: { method: flags.method ?? CODE_DEFAULT, code: flags.code } }
    : undefined;
  if (!upfront && flags.method && isCeremony(flags.method))
    upfront = { secondFactor: { method: flags.method, code: await keyProof(f, backend, flags) } };
  try {
    return await change(upfront);
  } catch (err) {
    if (!(err instanceof IdentityRequired) || upfront) throw err;
    // A wrong password or code typed at the prompt is asked again (issue #20 §6).
    const need = err;
    const fromPrompt = !flags.passwordStdin && !process.env.ACCTSEC_PASSWORD;
    return askAgainOnError(
      f,
      async () => change(await gatherProof(f, flags, backend, need)),
      (e) => fromPrompt && isWrongSecret(e),
    );
  }
}

async function gatherProof(
  f: Factory,
  flags: IdentityFlags,
  backend: Backend,
  need: IdentityRequired,
): Promise<IdentityProof> {
  const { password, methods } = need.accepts;
  if (password && (flags.passwordStdin || process.env.ACCTSEC_PASSWORD)) {
    return { password: await readPassword(f, { stdin: Boolean(flags.passwordStdin) }) };
  }
  const supply = [
    password ? PASSWORD_SOURCES : '',
    methods.length
      ? `--method M --code C (methods: ${methods.join(', ')}${methods.some(isMailed) ? '; --send-code emails one' : ''}${methods
          .filter(isCeremony)
          .map((m) => `; --method ${m} asks your security key in the browser`)
          .join('')})`
      : '',
  ]
    .filter(Boolean)
    .join(', or ');
  if (!f.prompter.interactive) throw new MissingInput(`this change needs you to confirm your identity: use ${supply}`);
  f.io.note('Confirm your identity to continue.');
  const choices = [
    ...(password ? [{ value: 'password', name: 'Password' }] : []),
    ...methods.map((m) => ({
      value: m,
      name: isCeremony(m) ? `${factorKind(m)?.label ?? m} (in the browser)` : `Code (${m})`,
    })),
  ];
  const choice = choices.length === 1 ? choices[0]!.value : await f.prompter.select('Confirm with:', supply, choices);
  if (choice === 'password') return { password: await readPassword(f, { stdin: false }) };
  if (isCeremony(choice)) return { secondFactor: { method: choice, code: await keyProof(f, backend, flags) } };
  if (isMailed(choice)) {
    const sent = await backend.sendFactorCode(choice);
    f.io.note(`A code is on its way to ${sent.sentTo}.`);
    const code = await mailedCodePrompt(f, `Code (${choice}):`, () => backend.sendFactorCode(choice));
    return { secondFactor: { method: choice, code } };
  }
  return { secondFactor: { method: choice, code: await f.prompter.text(`Code (${choice}):`, '--code') } };
}
