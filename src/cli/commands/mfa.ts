import { Command, Option } from 'commander';
import { AuthFailed, InvalidInput, Throttled } from '../../errors.js';
import type { Backend } from '../../backend/backend.js';
import type { TotpEnabled, TotpEnrollment } from '../../views.js';
import type { Factory } from '../factory.js';
import { localTime } from '../format.js';
import { drawQr, terminalColumns, terminalRows } from '../qr.js';
import { confirmDisable } from '../mfa-guard.js';
import { codeUnlessRepairing } from '../repair-window.js';
import { showRecoveryCodes, writeRecoveryCodesFile } from '../recovery-file.js';
import { addKeyCommands } from './mfa-key.js';
import {
  identityOptions,
  reportCodeSent,
  sendIdentityCodeIfAsked,
  withIdentity,
  type IdentityFlags,
} from '../secrets.js';

const CODE_SUPPLY = '--code';

export function newCmdMfa(f: Factory): Command {
  const cmd = new Command('mfa')
    .description('multi-factor authentication: methods and their state')
    .addHelpText(
      'after',
      '\nLost your phone or key? Sign in with a recovery code (acctsec login --code abcd-efgh-jkmn-pqrs): for 10 minutes\n' +
        'that session may turn off or remove second factors and enrol new ones without a code from the lost one\n' +
        '(the repair window, shown by `acctsec status`). The password is still asked where it always is.',
    );
  cmd
    .command('status')
    .description('every method, its state and activation date')
    .action(() => mfaStatusRun({ f }));

  const totp = cmd.command('totp').description('the authenticator app (TOTP, RFC 6238)');
  identityOptions(
    totp
      .command('enable')
      .description('confirm identity, show a QR code and key, then activate with a code from the app')
      .addOption(new Option('--qr <kind>', 'QR code in the terminal').choices(['utf8', 'none']).default('utf8'))
      .option('--recovery-codes-file <path>', 'also save the recovery codes to this file (mode 0600)'),
  )
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
    .action((o: { code?: string; recoveryCodesFile?: string }) =>
      totpConfirmRun({ f, code: o.code, recoveryCodesFile: o.recoveryCodesFile }),
    );
  totp
    .command('disable')
    .description(
      'turn the authenticator app off (needs a current code from it, except in the repair window of a recovery-code sign-in)',
    )
    .option('--code <code>', 'the 6-digit code the app shows now')
    .action((o: { code?: string }) => totpDisableRun({ f, code: o.code }));
  const email = cmd
    .command('email')
    .description("codes sent to the account's email address (not a NIST authentication factor)");
  identityOptions(
    email
      .command('enable')
      .description("confirm identity, email a code to the account's address, then activate with it"),
  ).action((o: IdentityFlags) => emailEnableRun({ f, identity: o }));
  email
    .command('confirm')
    .description('activate with the emailed code')
    .option('--code <code>', 'the 6-digit code from the email')
    .action((o: { code?: string }) => emailConfirmRun({ f, code: o.code }));
  email
    .command('resend')
    .description('send a new code (one a minute); the previous one stops working')
    .action(() => emailResendRun({ f }));
  email
    .command('disable')
    .description('turn email codes off (a code is emailed first, except in the repair window)')
    .option('--send-code', 'only send the code; run again with --code')
    .option('--code <code>', 'the 6-digit code from the email')
    .action((o: { sendCode?: boolean; code?: string }) =>
      emailDisableRun({ f, sendCode: Boolean(o.sendCode), code: o.code }),
    );
  addKeyCommands(cmd, f);
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
    const keys = m.keys ? `, ${m.keys} key${m.keys === 1 ? '' : 's'} (acctsec mfa key list)` : '';
    const state = m.enabled
      ? `enabled since ${localTime(m.enabledAt ?? '')}${m.address ? `, codes to ${m.address}` : ''}${keys}`
      : 'off';
    f.io.out(
      `${m.type.padEnd(8)} ${state}${m.allowedByPolicy === false ? '  (turned off by policy: still works until disabled)' : ''}`,
    );
  }
  if (s.recoveryCodesLeft !== null)
    f.io.out(`recovery ${s.recoveryCodesLeft} code${s.recoveryCodesLeft === 1 ? '' : 's'} left`);
  if (s.repairWindowUntil)
    f.io.out(
      `repair   window open until ${localTime(s.repairWindowUntil)}: turn off or remove a lost factor and enrol new ones without a code from it`,
    );
}

// Beside the code, so that at 80×24 the code, the key and the prompt under them are all on screen.
const SCAN_OR_TYPE = [
  'Scan it with your',
  'authenticator app',
  '(Google Authenticator,',
  'Authy, 1Password...),',
  '',
  'or type in this key',
  '(time-based, 6 digits,',
  'every 30 s):',
  '',
];
const BESIDE_GAP = 3;

async function showEnrollment(f: Factory, e: TotpEnrollment, qr: 'utf8' | 'none'): Promise<void> {
  const groups = e.secret.match(/.{1,4}/g) ?? [];
  if (qr === 'utf8') {
    const color = f.io.color.level > 0;
    // One row under the code: the prompt for the code, or the line saying how to confirm.
    const code = await drawQr(e.uri, { color, rows: terminalRows() - 1 });
    const columns = terminalColumns();
    if (code.width <= columns) {
      if (!color) f.io.note('Without colour the QR code assumes a dark background; the key works too.');
      const beside = [...SCAN_OR_TYPE];
      for (let i = 0; i < groups.length; i += 4) beside.push(`  ${groups.slice(i, i + 4).join(' ')}`);
      if (
        code.width + BESIDE_GAP + Math.max(...beside.map((l) => l.length)) <= columns &&
        beside.length <= code.lines.length
      ) {
        // The URI first: it is two rows at 80 columns, and what scrolls away should be it, not the code.
        f.io.out(`URI: ${e.uri}`);
        code.lines.forEach((line, i) => f.io.out(beside[i] ? line + ' '.repeat(BESIDE_GAP) + beside[i] : line));
        return;
      }
      f.io.out('Scan this QR code with your authenticator app (Google Authenticator, Authy, 1Password, Bitwarden...):');
      for (const line of code.lines) f.io.out(line);
    } else {
      f.io.note(
        `The QR code needs ${code.width} columns and the terminal has ${columns}: widen it, or enter the key by hand.`,
      );
    }
  }
  f.io.out(`Key for manual entry (time-based, 6 digits, every 30 s):`);
  f.io.out(`  ${groups.join(' ')}`);
  f.io.out(`URI: ${e.uri}`);
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

export async function totpEnableRun(opts: {
  f: Factory;
  qr: 'utf8' | 'none';
  recoveryCodesFile?: string | undefined;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'mfa totp enable')) return;
  const enrollment = await withIdentity(f, opts.identity, backend, (proof) => backend.beginTotp(proof));
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

export async function totpConfirmRun(opts: {
  f: Factory;
  code?: string | undefined;
  recoveryCodesFile?: string | undefined;
}): Promise<void> {
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

/**
 * `mfa totp disable`: a current code of the app; when it is the last method, a warning and a yes first
 * (SPEC §4.4, see mfa-guard.ts). Prints what stays active.
 */
export async function totpDisableRun(opts: { f: Factory; code?: string | undefined }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  const last = await confirmDisable(f, backend, 'totp');
  if (last === null) return;
  const code = await codeUnlessRepairing(f, backend, opts.code, () =>
    f.prompter.text('Code from the app:', CODE_SUPPLY),
  );
  const result = await backend.disableTotp(code, last);
  if (f.globals.json) f.io.json(result);
  else
    f.io.out(
      `The authenticator app is off.${result.remainingMethods.length ? ` Still active: ${result.remainingMethods.join(', ')}.` : ' Sign-in now asks for the password only.'}`,
    );
}

/** Asks for the emailed code; "r" asks for a new one (one a minute), as the web page's Request Code. */
async function askEmailCode(f: Factory, resend: () => Promise<unknown>): Promise<string> {
  for (;;) {
    const answer = (await f.prompter.text('Code from the email (r: send a new one):', '--code')).trim();
    if (answer.toLowerCase() !== 'r') return answer;
    try {
      await resend();
      f.io.note('A new code is on its way; the previous one no longer works.');
    } catch (err) {
      if (!(err instanceof Throttled)) throw err;
      f.io.warn(err.message);
    }
  }
}

export async function emailEnableRun(opts: { f: Factory; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'mfa email enable')) return;
  const sent = await withIdentity(f, opts.identity, backend, (proof) => backend.beginEmailMfa(proof));
  if (f.globals.json || !f.prompter.interactive) {
    reportCodeSent(f, sent, 'acctsec mfa email confirm --code <code>');
    return;
  }
  for (const n of sent.notices ?? []) f.io.warn(n);
  f.io.note(`A code is on its way to ${sent.sentTo}.`);
  for (;;) {
    const code = await askEmailCode(f, () => backend.resendEmailMfa());
    try {
      const done = await backend.confirmEmailMfa(code);
      f.io.out(`Email codes are active: sign-in can use a code sent to ${done.address}.`);
      return;
    } catch (err) {
      if (!(err instanceof AuthFailed)) throw err;
      f.io.warn(`${err.message}; try again`);
    }
  }
}

export async function emailConfirmRun(opts: { f: Factory; code?: string | undefined }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  const code = opts.code ?? (await f.prompter.text('Code from the email:', '--code'));
  const done = await backend.confirmEmailMfa(code);
  if (f.globals.json) f.io.json(done);
  else f.io.out(`Email codes are active: sign-in can use a code sent to ${done.address}.`);
}

export async function emailResendRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  reportCodeSent(f, await (await f.backend()).resendEmailMfa(), 'acctsec mfa email confirm --code <code>');
}

export async function emailDisableRun(opts: {
  f: Factory;
  sendCode: boolean;
  code?: string | undefined;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (opts.sendCode) {
    reportCodeSent(f, await backend.sendFactorCode('email'), 'acctsec mfa email disable --code <code>');
    return;
  }
  const last = await confirmDisable(f, backend, 'email');
  if (last === null) return;
  const code = await codeUnlessRepairing(f, backend, opts.code || undefined, async () => {
    if (!f.prompter.interactive)
      throw new InvalidInput('disabling email codes needs a code: first --send-code, then --code C', '--code');
    const sent = await backend.sendFactorCode('email');
    f.io.note(`A code is on its way to ${sent.sentTo}.`);
    return askEmailCode(f, () => backend.sendFactorCode('email'));
  });
  const result = await backend.disableEmailMfa(code, last);
  if (f.globals.json) f.io.json(result);
  else
    f.io.out(
      `Email codes are off.${result.remainingMethods.length ? ` Still active: ${result.remainingMethods.join(', ')}.` : ' Sign-in now asks for the password only.'}`,
    );
}
