import { Command, Option } from 'commander';
import { factorKind, RECOVERY_METHODS } from '../../factor-kinds.js';
import type { Factory } from '../factory.js';
import { localTime, table } from '../format.js';
import { awaitBrowser, ceremonyOptions, parseTimeout, type CeremonyFlags } from '../key-ceremony.js';
import {
  askAgainOnError,
  identityOptions,
  isWrongSecret,
  mailedCodePrompt,
  readNewPassword,
  reportCodeSent,
  sendIdentityCodeIfAsked,
  withIdentity,
  type IdentityFlags,
} from '../secrets.js';
import { addRecoveryQrCommands, recoverWithQrRun, type RecoverQrFlags } from './recovery-qr.js';

export function newCmdRecovery(f: Factory): Command {
  const cmd = new Command('recovery').description('recovery options: addresses that can reset the password');
  const email = cmd.command('email').description('recovery email addresses (each confirmed by a code sent to it)');
  identityOptions(email.command('add').description('add an address and email it a code').argument('<address>')).action(
    (address: string, o: IdentityFlags) => recoveryEmailAddRun({ f, address, identity: o }),
  );
  email
    .command('confirm')
    .description('confirm an address with the code it received')
    .argument('<address>')
    .option('--code <code>', 'the 6-digit code sent to that address')
    .action((address: string, o: { code?: string }) => recoveryEmailConfirmRun({ f, address, code: o.code }));
  email
    .command('list')
    .description('my recovery addresses')
    .action(() => recoveryEmailListRun({ f }));
  identityOptions(email.command('remove').description('remove an address').argument('<address>')).action(
    (address: string, o: IdentityFlags) => recoveryEmailRemoveRun({ f, address, identity: o }),
  );
  addRecoveryQrCommands(cmd, f); // issue #20 §1
  return cmd;
}

export function newCmdRecover(f: Factory): Command {
  return ceremonyOptions(
    new Command('recover')
      .description(
        'set a new password: with a code sent to a verified recovery address, a registered security key, a recovery QR code, or a reset token from support',
      )
      .requiredOption('--username <name>', 'the account to recover')
      .option('--send-code', 'only send the code; run again with --code')
      .option('--code <code>', 'the code from the recovery email')
      .option('--token <token>', 'a reset token from support (acs_rst_..., single use, 1 hour)')
      .addOption(
        new Option(
          '--method <method>',
          "email: a code to a recovery address (default); key: a registered security key, in the browser; qr: the recovery QR code (a phone approves on the server's page, or --qr-image/--qr-text)",
        ).choices([...RECOVERY_METHODS]),
      )
      .option('--password-stdin', 'read the new password from the first line of stdin')
      .option('--qr-image <file>', 'a photo or scan (PNG or JPEG) of the recovery sheet: implies --method qr')
      .option(
        '--qr-text <source>',
        'only "-": read the text of the recovery QR code from stdin (with --password-stdin the new password follows on line 2): implies --method qr',
      ),
  )
    .addHelpText(
      'after',
      '\nThe new password comes from a prompt (typed twice), ACCTSEC_NEW_PASSWORD, or --password-stdin.' +
        '\nWith --method qr against a server with --public-url, --timeout bounds the wait for the approval on the phone.',
    )
    .action(
      (
        o: {
          username: string;
          sendCode?: boolean;
          code?: string;
          token?: string;
          passwordStdin?: boolean;
          method?: string;
        } & CeremonyFlags &
          RecoverQrFlags,
      ) =>
        o.method === 'qr' || o.qrImage !== undefined || o.qrText !== undefined
          ? recoverWithQrRun({ f, ...o, passwordStdin: Boolean(o.passwordStdin) })
          : o.token
            ? recoverWithTokenRun({ f, username: o.username, token: o.token, passwordStdin: Boolean(o.passwordStdin) })
            : // A factor that recovers a password: today only the security key, whose browser ceremony this is.
              o.method !== undefined && factorKind(o.method)?.recoversPassword
              ? recoverWithKeyRun({
                  f,
                  username: o.username,
                  passwordStdin: Boolean(o.passwordStdin),
                  open: o.open,
                  timeout: o.timeout,
                })
              : recoverRun({
                  f,
                  username: o.username,
                  sendCode: Boolean(o.sendCode),
                  code: o.code,
                  passwordStdin: Boolean(o.passwordStdin),
                }),
    );
}

export async function recoveryEmailAddRun(opts: {
  f: Factory;
  address: string;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `recovery email add ${opts.address}`)) return;
  const sent = await withIdentity(f, opts.identity, backend, (proof) => backend.addRecoveryEmail(opts.address, proof));
  if (f.globals.json || !f.prompter.interactive) {
    reportCodeSent(f, sent, `acctsec recovery email confirm ${sent.sentTo} --code <code>`);
    return;
  }
  f.io.note(`A code is on its way to ${sent.sentTo}.`);
  // A wrong or mistyped code is asked again (three tries, each counted); Enter alone sends a new one
  // (identity was just confirmed: the 10-minute window covers the resend) (issue #20 §6).
  const row = await askAgainOnError(
    f,
    async () =>
      backend.confirmRecoveryEmail(
        opts.address,
        await mailedCodePrompt(f, 'Code from that email:', () =>
          withIdentity(f, opts.identity, backend, (proof) => backend.addRecoveryEmail(opts.address, proof)),
        ),
      ),
    isWrongSecret,
  );
  f.io.out(`${row.address} is a verified recovery address.`);
}

export async function recoveryEmailConfirmRun(opts: {
  f: Factory;
  address: string;
  code?: string | undefined;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  const code = opts.code ?? (await f.prompter.text('Code from that email:', '--code'));
  const row = await backend.confirmRecoveryEmail(opts.address, code);
  if (f.globals.json) f.io.json(row);
  else f.io.out(`${row.address} is a verified recovery address.`);
}

export async function recoveryEmailListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const rows = await (await f.backend()).listRecoveryEmails();
  if (f.globals.json) {
    f.io.json(rows);
    return;
  }
  if (rows.length === 0) {
    f.io.note('No recovery address yet: `acctsec recovery email add <address>`.');
    return;
  }
  f.io.out(
    table(
      rows.map((r) => [r.address, r.verified ? 'verified' : 'waiting for its code', localTime(r.addedAt)]),
      ['ADDRESS', 'STATE', 'ADDED'],
    ),
  );
}

export async function recoveryEmailRemoveRun(opts: {
  f: Factory;
  address: string;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `recovery email remove ${opts.address}`)) return;
  await withIdentity(f, opts.identity, backend, (proof) => backend.removeRecoveryEmail(opts.address, proof));
  if (f.globals.json) f.io.json({ removed: opts.address });
  else f.io.out(`Removed ${opts.address}.`);
}

export async function recoverRun(opts: {
  f: Factory;
  username: string;
  sendCode: boolean;
  code?: string | undefined;
  passwordStdin: boolean;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backendWith(undefined);
  let code = opts.code;
  if (!code) {
    const { message } = await backend.sendRecoveryCode(opts.username);
    if (opts.sendCode || !f.prompter.interactive) {
      if (f.globals.json) f.io.json({ sent: true, message });
      else
        f.io.out(
          `${message[0]!.toUpperCase()}${message.slice(1)}. Then: acctsec recover --username ${opts.username} --code <code>`,
        );
      return;
    }
    f.io.note(`${message[0]!.toUpperCase()}${message.slice(1)}.`);
    code = await f.prompter.text('Code from the recovery email:', '--code');
  }
  const newPassword = await readNewPassword(f, {
    stdin: opts.passwordStdin,
    stdinLine: 0,
    env: 'ACCTSEC_NEW_PASSWORD',
  });
  const result = await backend.recover({ username: opts.username, code, newPassword });
  if (f.globals.json) f.io.json(result);
  else
    f.io.out(
      `New password set for ${result.username}; every session was signed out. Sign in with \`acctsec login\` (second factors still apply).`,
    );
}

export async function recoverWithTokenRun(opts: {
  f: Factory;
  username: string;
  token: string;
  passwordStdin: boolean;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backendWith(undefined);
  const newPassword = await readNewPassword(f, {
    stdin: opts.passwordStdin,
    stdinLine: 0,
    env: 'ACCTSEC_NEW_PASSWORD',
  });
  const result = await backend.recoverWithToken({ username: opts.username, token: opts.token, newPassword });
  if (f.globals.json) f.io.json(result);
  else
    f.io.out(
      `Password set for ${result.username}; every session was signed out. Sign in with \`acctsec login\` (second factors still apply).`,
    );
}

/** `recover --method key` (SPEC §4.3): the new password first, then the key in the browser. */
export async function recoverWithKeyRun(
  opts: { f: Factory; username: string; passwordStdin: boolean } & CeremonyFlags,
): Promise<void> {
  const { f } = opts;
  parseTimeout(opts.timeout);
  const backend = await f.backendWith(undefined);
  const newPassword = await readNewPassword(f, {
    stdin: opts.passwordStdin,
    stdinLine: 0,
    env: 'ACCTSEC_NEW_PASSWORD',
  });
  const ceremony = await backend.beginKeyRecovery(opts.username);
  await awaitBrowser(f, backend, ceremony, opts, `Recover ${opts.username}`);
  const result = await backend.recover({
    username: opts.username,
    code: ceremony.ceremonyId,
    newPassword,
    method: 'key',
  });
  if (f.globals.json) f.io.json(result);
  else
    f.io.out(
      `New password set for ${result.username}; every session was signed out. Sign in with \`acctsec login\` (second factors still apply).`,
    );
}
