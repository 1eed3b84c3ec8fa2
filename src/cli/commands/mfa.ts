import { Command, Option } from 'commander';
import { AuthFailed, InvalidInput } from '../../errors.js';
import type { Backend } from '../../backend/backend.js';
import type { TotpEnabled, TotpEnrollment } from '../../views.js';
import type { Factory } from '../factory.js';
import { localTime } from '../format.js';
import { qrWidth, renderQr, terminalColumns } from '../qr.js';
import { writeRecoveryCodesFile } from '../recovery-file.js';
import { withIdentity, type IdentityFlags } from '../secrets.js';

const CODE_SUPPLY = '--code';

export function newCmdMfa(f: Factory): Command {
  const cmd = new Command('mfa').description('multi-factor authentication: methods and their state');
  cmd.command('status').description('every method, its state and activation date').action(() => mfaStatusRun({ f }));

  const totp = cmd.command('totp').description('the authenticator app (TOTP, RFC 6238)');
  totp
    .command('enable')
    .description('confirm identity, show a QR code and key, then activate with a code from the app')
    .addOption(new Option('--qr <kind>', 'QR code in the terminal').choices(['utf8', 'none']).default('utf8'))
    .option('--recovery-codes-file <path>', 'also save the recovery codes to this file (mode 0600)')
    .option('--password-stdin', 'confirm identity with the password from stdin')
    .option('--method <method>', 'confirm identity with this second factor instead (with --code)')
    .option('--code <code>', 'a code of that method')
    .addHelpText(
      'after',
      '\nWithout a terminal (or with --json) enable only begins: it prints {"secret","uri","expiresAt"} and\n' +
        'keeps the enrollment for 10 minutes; `acctsec mfa totp confirm --code C` activates it.',
    )
    .action((o: { qr: 'utf8' | 'none'; recoveryCodesFile?: string } & IdentityFlags) =>
      totpEnableRun({ f, qr: o.qr, recoveryCodesFile: o.recoveryCodesFile, identity: o }),
    );
  totp
    .command('confirm')
    .description('activate a pending enrollment with the current code from the app')
    .option('--code <code>', 'the 6-digit code the app shows now')
    .option('--recovery-codes-file <path>', 'also save the recovery codes to this file (mode 0600)')
    .action((o: { code?: string; recoveryCodesFile?: string }) => totpConfirmRun({ f, code: o.code, recoveryCodesFile: o.recoveryCodesFile }));
  totp
    .command('disable')
    .description('turn the authenticator app off (needs a current code from it)')
    .option('--code <code>', 'the 6-digit code the app shows now')
    .action((o: { code?: string }) => totpDisableRun({ f, code: o.code }));
  return cmd;
}

export async function mfaStatusRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const s = await (await f.backend()).mfaStatus();
  if (f.globals.json) {
    f.io.json(s);
    return;
  }
  for (const m of s.methods) {
    f.io.out(`${m.type.padEnd(8)} ${m.enabled ? `enabled since ${localTime(m.enabledAt ?? '')}` : 'off'}`);
  }
  if (s.recoveryCodesLeft !== null) f.io.out(`recovery ${s.recoveryCodesLeft} code${s.recoveryCodesLeft === 1 ? '' : 's'} left`);
}

async function showEnrollment(f: Factory, e: TotpEnrollment, qr: 'utf8' | 'none'): Promise<void> {
  if (qr === 'utf8') {
    const code = await renderQr(e.uri);
    const width = qrWidth(code);
    const columns = terminalColumns();
    if (width <= columns) {
      f.io.out('Scan this QR code with your authenticator app (Google Authenticator, Authy, 1Password, Bitwarden...):');
      f.io.out(code);
    } else {
      f.io.note(`The QR code needs ${width} columns and the terminal has ${columns}: widen it, or enter the key by hand.`);
    }
  }
  f.io.out(`Key for manual entry (time-based, 6 digits, every 30 s):`);
  f.io.out(`  ${e.secret.replace(/(.{4})(?=.)/g, '$1 ')}`);
  f.io.out(`URI: ${e.uri}`);
}

async function showRecoveryCodes(f: Factory, username: string, codes: string[], file: string | undefined, offer: boolean): Promise<void> {
  f.io.out('');
  f.io.out('Recovery codes (each works once, in place of a code from the app). They are not shown again');
  f.io.out('without a fresh authenticator code, so save them now:');
  for (const c of codes) f.io.out(`  ${c}`);
  let path = file;
  if (!path && offer && (await f.prompter.confirm('Save them to a text file?', '--recovery-codes-file', true))) {
    path = await f.prompter.text('File:', '--recovery-codes-file', { default: 'acctsec-recovery-codes.txt' });
  }
  if (path) f.io.note(`Saved to ${writeRecoveryCodesFile(path, username, codes)} (mode 0600).`);
}

async function askCodeUntilRight(f: Factory, backend: Backend): Promise<TotpEnabled> {
  for (;;) {
    const code = await f.prompter.text('Code from the app:', CODE_SUPPLY);
    try {
      return await backend.confirmTotp(code);
    } catch (err) {
      // A wrong code leaves the enrollment pending; the shared throttle bounds the retries.
      if (!(err instanceof AuthFailed)) throw err;
      f.io.warn(`${err.message}; try again`);
    }
  }
}

export async function totpEnableRun(opts: { f: Factory; qr: 'utf8' | 'none'; recoveryCodesFile?: string | undefined; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  const enrollment = await withIdentity(f, opts.identity, (proof) => backend.beginTotp(proof));
  if (f.globals.json) {
    f.io.json(enrollment);
    return;
  }
  await showEnrollment(f, enrollment, opts.qr);
  if (!f.prompter.interactive) {
    f.io.out(`Then, before ${localTime(enrollment.expiresAt)}: acctsec mfa totp confirm --code <6-digit code>`);
    return;
  }
  const enabled = await askCodeUntilRight(f, backend);
  f.io.out('The authenticator app is active: sign-in now asks for a code from it.');
  const username = (await backend.status()).username;
  await showRecoveryCodes(f, username, enabled.recoveryCodes, opts.recoveryCodesFile, true);
}

export async function totpConfirmRun(opts: { f: Factory; code?: string | undefined; recoveryCodesFile?: string | undefined }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  const code = opts.code ?? (await f.prompter.text('Code from the app:', CODE_SUPPLY));
  const enabled = await backend.confirmTotp(code);
  const username = (await backend.status()).username;
  if (f.globals.json) {
    if (opts.recoveryCodesFile) writeRecoveryCodesFile(opts.recoveryCodesFile, username, enabled.recoveryCodes);
    f.io.json(enabled);
    return;
  }
  f.io.out('The authenticator app is active: sign-in now asks for a code from it.');
  await showRecoveryCodes(f, username, enabled.recoveryCodes, opts.recoveryCodesFile, f.prompter.interactive);
}

export async function totpDisableRun(opts: { f: Factory; code?: string | undefined }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  const status = await backend.mfaStatus();
  const others = status.methods.filter((m) => m.enabled && m.type !== 'totp');
  const last = status.methods.some((m) => m.type === 'totp' && m.enabled) && others.length === 0;
  if (last) {
    f.io.warn('this is your last second factor: without it, sign-in falls back to the password alone');
    if (!f.globals.yes) {
      if (!f.prompter.interactive) throw new InvalidInput('disabling the last second factor needs --yes under --no-input', '--yes');
      if (!(await f.prompter.confirm('Disable it anyway?', '--yes', false))) {
        f.io.note('Nothing changed.');
        return;
      }
    }
  }
  const code = opts.code ?? (await f.prompter.text('Code from the app:', CODE_SUPPLY));
  const result = await backend.disableTotp(code, last);
  if (f.globals.json) f.io.json(result);
  else f.io.out(`The authenticator app is off.${result.remainingMethods.length ? ` Still active: ${result.remainingMethods.join(', ')}.` : ' Sign-in now asks for the password only.'}`);
}
