import { Command } from 'commander';
import type { Factory } from '../factory.js';
import { writeRecoveryCodesFile } from '../recovery-file.js';

export function newCmdRecoveryCodes(f: Factory): Command {
  const cmd = new Command('recovery-codes').description('one-time codes for when the authenticator app is not at hand');
  cmd
    .command('view')
    .description('show the codes still valid (needs a fresh authenticator code)')
    .option('--code <code>', 'the 6-digit code the app shows now')
    .action((o: { code?: string }) => recoveryCodesViewRun({ f, code: o.code }));
  cmd
    .command('regenerate')
    .description('void every code and issue 10 new ones (needs a fresh authenticator code)')
    .option('--code <code>', 'the 6-digit code the app shows now')
    .option('--output <file>', 'save the new codes to this file (mode 0600), with the account and date')
    .action((o: { code?: string; output?: string }) => recoveryCodesRegenerateRun({ f, code: o.code, output: o.output }));
  return cmd;
}

export async function recoveryCodesViewRun(opts: { f: Factory; code?: string | undefined }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  const code = opts.code ?? (await f.prompter.text('Code from the app:', '--code'));
  const { codes } = await backend.viewRecoveryCodes(code);
  if (f.globals.json) {
    f.io.json({ codes });
    return;
  }
  f.io.out(`${codes.length} recovery code${codes.length === 1 ? '' : 's'} still valid:`);
  for (const c of codes) f.io.out(`  ${c}`);
}

export async function recoveryCodesRegenerateRun(opts: { f: Factory; code?: string | undefined; output?: string | undefined }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (f.prompter.interactive && !f.globals.yes && !(await f.prompter.confirm('This voids every current recovery code. Continue?', '--yes', true))) {
    f.io.note('Nothing changed.');
    return;
  }
  const code = opts.code ?? (await f.prompter.text('Code from the app:', '--code'));
  const { codes } = await backend.regenerateRecoveryCodes(code);
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
