import { Option, type Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { IdentityProof } from '../../views.js';
import { CODE_DEFAULT, IDENTITY_METHODS, isCeremony, MAILED_DEFAULT } from '../../factor-kinds.js';
import type { Factory } from '../factory.js';
import { localTime, table } from '../format.js';
import { awaitBrowser, ceremonyOptions, parseTimeout, type CeremonyFlags } from '../key-ceremony.js';
import { showRecoveryCodes, writeRecoveryCodesFile } from '../recovery-file.js';
import {
  askAgainOnError,
  identityOptions,
  keyProof,
  reportCodeSent,
  sendIdentityCodeIfAsked,
  withIdentity,
  type IdentityFlags,
} from '../secrets.js';
import { confirmDisable } from '../mfa-guard.js';
import { repairWindowOpen } from '../repair-window.js';

// `acctsec mfa key ...`: security keys (WebAuthn / FIDO2, SPEC §4.3). Adding and using a key runs in a
// browser page (see key-ceremony.ts); listing, renaming and removing do not need one.

export function addKeyCommands(mfa: Command, f: Factory): void {
  const key = mfa.command('key').description('security keys and passkeys (WebAuthn / FIDO2), used in a browser');
  identityOptions(
    key
      .command('add')
      .description('register a security key under a name: confirm identity, then touch the key in the browser page')
      .option('--name <name>', 'a name to tell your keys apart (e.g. "yubikey-blue"; asked when left out)')
      .option(
        '--recovery-codes-file <path>',
        'save the recovery codes issued with a first key to this file (mode 0600)',
      ),
  )
    .addHelpText(
      'after',
      '\nThe page is served on http://localhost (or by the remote server); the key signs a challenge bound to\n' +
        'that origin. The first key of an account without recovery codes brings a set of 10.',
    )
    .action((o: { name: string; recoveryCodesFile?: string } & IdentityFlags) =>
      keyAddRun({ f, name: o.name, recoveryCodesFile: o.recoveryCodesFile, identity: o }),
    );
  key
    .command('list')
    .description('the registered keys: name, when added and last used')
    .action(() => keyListRun({ f }));
  key
    .command('rename')
    .description('give a registered key a new name')
    .argument('<name>', 'its current name')
    .argument('<new>', 'the new name')
    .action((name: string, next: string) => keyRenameRun({ f, name, next }));
  ceremonyOptions(
    key
      .command('remove')
      .description(
        'remove a key: confirm with a registered key in the browser, or with --method M --code C of another method (nothing in the repair window)',
      )
      .argument('<name>', 'the key to remove')
      .addOption(new Option('--method <method>', 'confirm with this method instead of a key').choices(IDENTITY_METHODS))
      .option('--code <code>', 'a code of that method')
      .option('--send-code', 'with --method email: email a code, then run again with --code'),
  ).action((name: string, o: { method?: string; code?: string; sendCode?: boolean } & CeremonyFlags) =>
    keyRemoveRun({ f, name, ...o }),
  );
}

export async function keyAddRun(opts: {
  f: Factory;
  name?: string | undefined;
  recoveryCodesFile?: string | undefined;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  parseTimeout(opts.identity.timeout);
  const backend = await f.backend();
  if (
    await sendIdentityCodeIfAsked(
      f,
      backend,
      opts.identity,
      `mfa key add --name ${opts.name === undefined ? '<name>' : JSON.stringify(opts.name)}`,
    )
  )
    return;
  // A missing name is asked for; a name the back end refuses (taken, too long), asked again (issue #20 §6).
  const askName = () => f.prompter.text('Key name (e.g. yubikey-blue):', '--name');
  let name = opts.name ?? (await askName());
  let again = false;
  const ceremony = await askAgainOnError(
    f,
    async () => {
      if (again) name = await askName();
      again = false;
      return withIdentity(f, opts.identity, backend, (proof) => backend.beginKeyRegistration(name, proof));
    },
    (err) =>
      (again =
        opts.name === undefined &&
        ((err instanceof InvalidInput && err.field === '--name') || err.slug === 'conflict')),
  );
  await awaitBrowser(f, backend, ceremony, opts.identity, `Add the security key "${name}"`);
  const added = await backend.finishKeyRegistration(ceremony.ceremonyId);
  const username = (await f.profiles()).session()?.username ?? '';
  if (f.globals.json) {
    if (added.recoveryCodes && opts.recoveryCodesFile)
      writeRecoveryCodesFile(opts.recoveryCodesFile, username, added.recoveryCodes);
    f.io.json(added);
    return;
  }
  f.io.out(`Added the security key "${added.key.name}" (${added.key.id}). Sign in with it: acctsec login --method key`);
  if (added.recoveryCodes)
    await showRecoveryCodes(f, username, added.recoveryCodes, opts.recoveryCodesFile, f.prompter.interactive);
}

export async function keyListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const keys = await (await f.backend()).listKeys();
  if (f.globals.json) {
    f.io.json(keys);
    return;
  }
  if (keys.length === 0) {
    f.io.note('No security key yet: `acctsec mfa key add --name NAME`.');
    return;
  }
  f.io.out(
    table(
      keys.map((k) => [
        k.name,
        k.id,
        localTime(k.createdAt),
        k.lastUsedAt ? localTime(k.lastUsedAt) : 'never',
        k.transports.join(',') || '-',
      ]),
      ['NAME', 'ID', 'ADDED', 'LAST USED', 'TRANSPORTS'],
    ),
  );
}

export async function keyRenameRun(opts: { f: Factory; name: string; next: string }): Promise<void> {
  const { f } = opts;
  const key = await (await f.backend()).renameKey(opts.name, opts.next);
  if (f.globals.json) f.io.json(key);
  else f.io.out(`Renamed "${opts.name}" to "${key.name}".`);
}

export async function keyRemoveRun(
  opts: {
    f: Factory;
    name: string;
    method?: string | undefined;
    code?: string | undefined;
    sendCode?: boolean | undefined;
  } & CeremonyFlags,
): Promise<void> {
  const { f } = opts;
  parseTimeout(opts.timeout);
  const backend = await f.backend();
  if (opts.sendCode) {
    const method = opts.method ?? MAILED_DEFAULT;
    reportCodeSent(
      f,
      await backend.sendFactorCode(method),
      `acctsec mfa key remove ${JSON.stringify(opts.name)} --method ${method} --code <code>`,
    );
    return;
  }
  const status = await backend.mfaStatus();
  const keys = status.methods.find((m) => m.type === 'key')?.keys ?? 0;
  // Only the last key can be the last second factor.
  const last = keys === 1 ? await confirmDisable(f, backend, 'key') : false;
  if (last === null) return;
  const method = opts.method ?? (opts.code ? CODE_DEFAULT : 'key');
  // Issue #20 §2: in the repair window no proof is asked (the lost key cannot give one).
  const proof: IdentityProof | undefined =
    !opts.method && !opts.code && repairWindowOpen(status)
      ? undefined
      : isCeremony(method)
        ? { secondFactor: { method, code: await keyProof(f, backend, opts) } }
        : { secondFactor: { method, code: opts.code ?? (await f.prompter.text(`Code (${method}):`, '--code')) } };
  const result = await backend.removeKey(opts.name, last, proof);
  if (f.globals.json) f.io.json(result);
  else
    f.io.out(
      `Removed the security key "${result.removed}".${result.remainingMethods.length ? ` Still active: ${result.remainingMethods.join(', ')}.` : ' Sign-in now asks for the password only.'}`,
    );
}
