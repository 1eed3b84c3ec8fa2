import { Command } from 'commander';
import type { AccountEmail } from '../../views.js';
import type { Factory } from '../factory.js';
import { localTime } from '../format.js';
import {
  askAgainOnError,
  identityOptions,
  isWrongSecret,
  mailedCodePrompt,
  reportCodeSent,
  sendIdentityCodeIfAsked,
  withIdentity,
  type IdentityFlags,
} from '../secrets.js';

// Issue #20 §3: the account's own address: shown, changed through a code sent to the new address,
// confirmed (also a first address from `init` or `admin users create`).

export function newCmdEmail(f: Factory): Command {
  const cmd = new Command('email')
    .description("my account's address: where security notices go, and codes once it is verified")
    .action(() => emailShowRun({ f }));
  cmd
    .command('show')
    .description('the address, whether it is verified, and a change waiting for its code')
    .action(() => emailShowRun({ f }));
  identityOptions(
    cmd
      .command('change')
      .description(
        'change the address: needs identity confirmation; takes effect once the code sent to the new address is entered',
      )
      .argument('<address>', 'the new address'),
  ).action((address: string, o: IdentityFlags) => emailChangeRun({ f, address, identity: o }));
  cmd
    .command('confirm')
    .description('enter the code sent to the new (or not yet verified) address')
    .option('--code <code>', 'the 6-digit code from that email (otherwise asked for)')
    .option('--send-code', 'only email a new code to the address waiting for one; run again with --code')
    .action((o: { code?: string; sendCode?: boolean }) =>
      emailConfirmRun({ f, code: o.code, sendCode: Boolean(o.sendCode) }),
    );
  cmd
    .command('cancel')
    .description('drop a change waiting for its code; the current address stays')
    .action(() => emailCancelRun({ f }));
  return cmd;
}

function render(f: Factory, e: AccountEmail): void {
  if (f.globals.json) {
    f.io.json(e);
    return;
  }
  f.io.out(
    `Address   ${e.address}  ${e.verified ? `verified ${localTime(e.verifiedAt!)}` : 'NOT VERIFIED (notices only: `acctsec email confirm --send-code`)'}`,
  );
  if (e.pending)
    f.io.out(
      `Pending   ${e.pending.address}, asked ${localTime(e.pending.requestedAt)}${e.pending.requestedBy ? ` by support (${e.pending.requestedBy})` : ''}: waits for \`acctsec email confirm\``,
    );
}

export async function emailShowRun(opts: { f: Factory }): Promise<void> {
  render(opts.f, await (await opts.f.backend()).emailShow());
}

export async function emailChangeRun(opts: { f: Factory; address: string; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `email change ${opts.address}`)) return;
  const sent = await withIdentity(f, opts.identity, backend, (proof) => backend.changeEmail(opts.address, proof));
  if (f.globals.json || !f.prompter.interactive) {
    reportCodeSent(f, sent, 'acctsec email confirm --code <code>');
    return;
  }
  f.io.note(`A code is on its way to ${sent.sentTo}; your address stays as it is until you enter it.`);
  const result = await askAgainOnError(
    f,
    async () =>
      backend.confirmEmail(await mailedCodePrompt(f, 'Code from that email:', () => backend.sendEmailConfirmation())),
    isWrongSecret,
  );
  f.io.out(`Your address is now ${result.address} (verified).`);
}

export async function emailConfirmRun(opts: {
  f: Factory;
  code?: string | undefined;
  sendCode: boolean;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (opts.sendCode) {
    reportCodeSent(f, await backend.sendEmailConfirmation(), 'acctsec email confirm --code <code>');
    return;
  }
  const result =
    opts.code !== undefined
      ? await backend.confirmEmail(opts.code)
      : await askAgainOnError(
          f,
          async () =>
            backend.confirmEmail(
              await mailedCodePrompt(f, 'Code from the email:', () => backend.sendEmailConfirmation()),
            ),
          isWrongSecret,
        );
  if (f.globals.json) f.io.json(result);
  else f.io.out(`Your address is ${result.address} (verified).`);
}

export async function emailCancelRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const result = await (await f.backend()).cancelEmailChange();
  if (f.globals.json) f.io.json(result);
  else f.io.out(`The change was cancelled; your address stays ${result.address}.`);
}
