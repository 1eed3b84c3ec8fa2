import { Command, Option } from 'commander';
import { MissingInput } from '../../errors.js';
import type { Backend } from '../../backend/backend.js';
import { AUTHENTICATOR_METHODS, CODE_DEFAULT, IDENTITY_METHODS, isCeremony, isMailed } from '../../factor-kinds.js';
import type { Factory } from '../factory.js';
import { ceremonyOptions, parseTimeout, type CeremonyFlags } from '../key-ceremony.js';
import { writeRecoveryCodesFile } from '../recovery-file.js';
import { keyProof, mailedCodePrompt, reportCodeSent } from '../secrets.js';

interface FreshCodeFlags extends CeremonyFlags {
  code?: string | undefined;
  method?: string | undefined;
  sendCode?: boolean | undefined;
}

/**
 * The fresh second factor SPEC §5 asks for: --code C from the app, or a security key in the browser
 * (--method key, or by itself when the account has keys and no app).
 */
async function freshCode(
  f: Factory,
  backend: Backend,
  flags: FreshCodeFlags,
): Promise<{ code: string; method: string }> {
  parseTimeout(flags.timeout);
  let method = flags.method;
  if (!method) {
    // The first active authenticator, the app's code before a key; with none, email codes (issue #20
    // §2: the app turned off, email kept); the app when nothing is active (the back end says why).
    const active = (await backend.mfaStatus()).methods.filter((m) => m.enabled).map((m) => m.type);
    // A --code is typed: never a key's ceremony then.
    const usable = (m: string) => active.includes(m) && !(flags.code && isCeremony(m));
    method =
      AUTHENTICATOR_METHODS.find(usable) ?? IDENTITY_METHODS.find((m) => isMailed(m) && usable(m)) ?? CODE_DEFAULT;
  }
  if (isCeremony(method)) return { method, code: await keyProof(f, backend, flags) };
  if (flags.code) return { method, code: flags.code };
  if (isMailed(method)) {
    if (!f.prompter.interactive)
      throw new MissingInput(`recovery codes need a fresh emailed code: first --send-code, then --code C`);
    const sent = await backend.sendFactorCode(method);
    f.io.note(`A code is on its way to ${sent.sentTo}.`);
    return { method, code: await mailedCodePrompt(f, `Code (${method}):`, () => backend.sendFactorCode(method)) };
  }
  return { method, code: await f.prompter.text('Code from the app:', '--code') };
}

/** `--send-code`: emails a code for --method email and stops (the second call passes --code). */
async function sendCodeIfAsked(f: Factory, backend: Backend, flags: FreshCodeFlags, command: string): Promise<boolean> {
  if (!flags.sendCode) return false;
  const method = flags.method ?? IDENTITY_METHODS.find(isMailed)!;
  reportCodeSent(
    f,
    await backend.sendFactorCode(method),
    `acctsec recovery-codes ${command} --method ${method} --code <code>`,
  );
  return true;
}

function freshCodeOptions(cmd: Command): Command {
  return ceremonyOptions(
    cmd
      .option('--code <code>', 'the 6-digit code the app shows now (or the emailed one)')
      .addOption(
        new Option(
          '--method <method>',
          'totp (a code from the app, the default) or key (a security key, in the browser); email when neither is active',
        ).choices(IDENTITY_METHODS),
      )
      .option('--send-code', 'with --method email (no app or key active): email a code, then run again with --code'),
  );
}

export function newCmdRecoveryCodes(f: Factory): Command {
  const cmd = new Command('recovery-codes').description('one-time codes for when the authenticator app is not at hand');
  freshCodeOptions(
    cmd.command('view').description('show the codes still valid (needs a fresh authenticator code, or a security key)'),
  ).action((o: FreshCodeFlags) => recoveryCodesViewRun({ f, ...o }));
  freshCodeOptions(
    cmd
      .command('regenerate')
      .description('void every code and issue 10 new ones (needs a fresh authenticator code, or a security key)')
      .option('--output <file>', 'save the new codes to this file (mode 0600), with the account and date'),
  ).action((o: FreshCodeFlags & { output?: string }) => recoveryCodesRegenerateRun({ f, ...o }));
  return cmd;
}

export async function recoveryCodesViewRun(opts: { f: Factory } & FreshCodeFlags): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendCodeIfAsked(f, backend, opts, 'view')) return;
  const { code, method } = await freshCode(f, backend, opts);
  const { codes } = await backend.viewRecoveryCodes(code, method);
  if (f.globals.json) {
    f.io.json({ codes });
    return;
  }
  f.io.out(`${codes.length} recovery code${codes.length === 1 ? '' : 's'} still valid:`);
  for (const c of codes) f.io.out(`  ${c}`);
}

export async function recoveryCodesRegenerateRun(
  opts: { f: Factory; output?: string | undefined } & FreshCodeFlags,
): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendCodeIfAsked(f, backend, opts, 'regenerate')) return;
  if (
    f.prompter.interactive &&
    !f.globals.yes &&
    !(await f.prompter.confirm('This voids every current recovery code. Continue?', '--yes', true))
  ) {
    f.io.note('Nothing changed.');
    return;
  }
  const { code, method } = await freshCode(f, backend, opts);
  const { codes } = await backend.regenerateRecoveryCodes(code, method);
  if (opts.output) {
    const username = (await backend.status()).username;
    const path = writeRecoveryCodesFile(opts.output, username, codes);
    f.io.note(`Saved to ${path} (mode 0600).`);
  }
  if (f.globals.json) {
    f.io.json({ codes });
    return;
  }
  f.io.out('New recovery codes (the old ones no longer work):');
  for (const c of codes) f.io.out(`  ${c}`);
}
