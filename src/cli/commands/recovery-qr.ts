import type { Command } from 'commander';
import type { Backend } from '../../backend/backend.js';
import { AuthFailed, InvalidInput, MissingInput } from '../../errors.js';
import { secretFromQrText } from '../../recovery-qr-text.js';
import type { Factory } from '../factory.js';
import { localTime } from '../format.js';
import { parseTimeout, type CeremonyFlags } from '../key-ceremony.js';
import { drawQr, terminalColumns, terminalRows } from '../qr.js';
import { decodeQrImage } from '../qr-decode.js';
import { sheetFormat, writeRecoverySheet } from '../recovery-sheet.js';
import {
  askAgainOnError,
  identityOptions,
  readNewPassword,
  readStdinLines,
  sendIdentityCodeIfAsked,
  withIdentity,
  type IdentityFlags,
} from '../secrets.js';

// QR-code recovery (issue #20 §1): `recovery qr create|status|revoke`, and `recover --method qr`.

export function addRecoveryQrCommands(recovery: Command, f: Factory): void {
  const qr = recovery
    .command('qr')
    .description('a printable QR code that resets the password once (scanned by a phone, or a photo of it)');
  identityOptions(
    qr
      .command('create')
      .description('make a recovery QR code (voids the previous one); show it, or save a printable sheet')
      .option('--output <file>', 'save a printable sheet instead: .png, .svg or .html (a new file, mode 0600)'),
  ).action((o: IdentityFlags & { output?: string }) => recoveryQrCreateRun({ f, output: o.output, identity: o }));
  qr.command('status')
    .description('whether a recovery QR code exists, and when it was made')
    .action(() => recoveryQrStatusRun({ f }));
  identityOptions(qr.command('revoke').description('void the recovery QR code')).action((o: IdentityFlags) =>
    recoveryQrRevokeRun({ f, identity: o }),
  );
}

/** The flags `recover` takes for the QR method (declared with its other options). */
export interface RecoverQrFlags extends CeremonyFlags {
  qrImage?: string | undefined;
  qrText?: string | undefined;
}

export async function recoveryQrCreateRun(opts: {
  f: Factory;
  output?: string | undefined;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  // A bad file name is refused before anything changes.
  if (opts.output !== undefined) sheetFormat(opts.output);
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'recovery qr create')) return;
  if (f.prompter.interactive && !f.globals.yes) {
    const current = await backend.recoveryQrStatus();
    if (
      current.exists &&
      !(await f.prompter.confirm(
        `This voids your recovery QR code made ${localTime(current.createdAt!)}. Continue?`,
        '--yes',
        true,
      ))
    ) {
      f.io.note('Nothing changed.');
      return;
    }
  }
  const created = await withIdentity(f, opts.identity, backend, (proof) => backend.createRecoveryQr(proof));
  if (created.replaced) f.io.note('The previous recovery QR code no longer works.');
  if (!created.phone && (await f.isRemote()))
    f.io.note(
      'This server names no public address (--public-url): the code holds its secret alone, for `recover --qr-image` or `--qr-text -`.',
    );
  if (opts.output !== undefined) {
    const username = (await backend.status()).username;
    const path = await writeRecoverySheet(opts.output, { ...created, username });
    if (f.globals.json) {
      f.io.json({ createdAt: created.createdAt, replaced: created.replaced, phone: created.phone, file: path });
      return;
    }
    f.io.out(`Recovery sheet saved to ${path} (mode 0600). Print it and keep it somewhere safe; then delete the file.`);
    return;
  }
  if (f.globals.json) {
    f.io.json(created);
    return;
  }
  const color = f.io.color.level > 0;
  const code = await drawQr(created.text, { color, rows: terminalRows() - 4 });
  if (code.width <= terminalColumns()) {
    if (!color) f.io.note('Without colour the QR code assumes a dark background.');
    for (const line of code.lines) f.io.out(line);
  } else {
    f.io.note(
      `The QR code needs ${code.width} columns and the terminal has ${terminalColumns()}: use --output kit.png.`,
    );
  }
  f.io.out(`Text of the code (shown once): ${created.text}`);
  f.io.out(
    created.phone
      ? 'To recover: acctsec recover --username <you> --method qr, then scan this code with your phone.'
      : 'To recover: acctsec recover --username <you> --qr-image <photo of this code>.',
  );
}

export async function recoveryQrStatusRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const status = await (await f.backend()).recoveryQrStatus();
  if (f.globals.json) f.io.json(status);
  else if (status.exists) f.io.out(`A recovery QR code exists, made ${localTime(status.createdAt!)}.`);
  else f.io.out('No recovery QR code. `acctsec recovery qr create` makes one.');
}

export async function recoveryQrRevokeRun(opts: { f: Factory; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'recovery qr revoke')) return;
  if (
    f.prompter.interactive &&
    !f.globals.yes &&
    !(await f.prompter.confirm('Void your recovery QR code?', '--yes', true))
  ) {
    f.io.note('Nothing changed.');
    return;
  }
  const result = await withIdentity(f, opts.identity, backend, (proof) => backend.revokeRecoveryQr(proof));
  if (f.globals.json) f.io.json(result);
  else f.io.out(`Revoked the recovery QR code made ${localTime(result.createdAt)}; it no longer works.`);
}

/** The secret of a code's text, or a one-line refusal naming where the text came from. */
function secretOf(text: string, from: string, flag: string): string {
  const secret = secretFromQrText(text);
  if (!secret)
    throw new InvalidInput(
      `${from} is not an acctsec recovery QR code (it holds "${text.trim().slice(0, 40)}${text.trim().length > 40 ? '…' : ''}")`,
      flag,
    );
  return secret;
}

function done(f: Factory, result: { username: string; revokedSessions: number }): void {
  if (f.globals.json) f.io.json(result);
  else
    f.io.out(
      `New password set for ${result.username}; every session was signed out. Sign in with \`acctsec login\` (second factors still apply). The recovery QR code is used up: make a new one once signed in.`,
    );
}

/** `recover --method qr`: with a photo (--qr-image), the code's text (--qr-text -), or a phone. */
export async function recoverWithQrRun(
  opts: { f: Factory; username: string; passwordStdin: boolean; method?: string | undefined } & RecoverQrFlags,
): Promise<void> {
  const { f } = opts;
  const timeout = parseTimeout(opts.timeout);
  if (opts.method !== undefined && opts.method !== 'qr')
    throw new InvalidInput(`--qr-image and --qr-text go with --method qr, not --method ${opts.method}`, '--method');
  if (opts.qrImage !== undefined && opts.qrText !== undefined)
    throw new InvalidInput('--qr-image and --qr-text are two ways to give the same code: use one', '--qr-text');
  // SPEC §1: the code's secret never comes from the command line, where ps and shell history keep it.
  if (opts.qrText !== undefined && opts.qrText !== '-')
    throw new InvalidInput(
      'invalid --qr-text value (not repeated here: it may be a secret): it takes only "-", and reads the code\'s text from stdin (a secret is never a command-line argument)',
      '--qr-text',
    );
  let secret: string | undefined;
  if (opts.qrImage !== undefined) secret = secretOf(await decodeQrImage(opts.qrImage), opts.qrImage, '--qr-image');
  else if (opts.qrText === '-') {
    const line = (await readStdinLines())[0] ?? '';
    if (line.trim() === '')
      throw new MissingInput(
        '--qr-text -: line 1 of stdin should hold the text of the recovery QR code, and it is empty',
      );
    secret = secretOf(line, 'line 1 of stdin', '--qr-text');
  }
  const backend = await f.backendWith(undefined);
  const newPassword = () =>
    readNewPassword(f, {
      stdin: opts.passwordStdin,
      stdinLine: opts.qrText === '-' ? 1 : 0,
      env: 'ACCTSEC_NEW_PASSWORD',
    });
  const fromPrompt = !opts.passwordStdin && !process.env.ACCTSEC_NEW_PASSWORD;
  const finish = (code: string, method: string) =>
    askAgainOnError(
      f,
      async () => backend.recover({ username: opts.username, code, newPassword: await newPassword(), method }),
      // A new password the policy refuses is asked again; the code stays valid until one is accepted.
      (e) => fromPrompt && e.exitCode === 2,
    );
  if (secret === undefined && !(await f.isRemote())) {
    if (!f.prompter.interactive)
      throw new MissingInput(
        'give the recovery QR code with --qr-image <photo> or --qr-text - (its text on stdin); a phone can approve only against a server with --public-url',
      );
    secret = secretOf(
      await f.prompter.password(
        'Text of the recovery QR code (a phone camera app shows it):',
        '--qr-image or --qr-text -',
      ),
      'that text',
      '--qr-text',
    );
  }
  if (secret !== undefined) {
    done(f, await finish(secret, 'qr'));
    return;
  }
  const handle = await waitForPhone(f, backend, opts.username, timeout);
  done(f, await finish(handle, 'qr-phone'));
}

/** The phone's way: open a request, show its words, and wait (with a countdown on a terminal) for the approval. */
async function waitForPhone(f: Factory, backend: Backend, username: string, timeoutSeconds: number): Promise<string> {
  const request = await backend.beginQrRecovery(username);
  f.io.note(`Scan your recovery QR code with your phone: it opens ${request.page} and shows this request.`);
  f.io.note(`Approve it there only if it shows these words: ${request.phrase}`);
  const until = Date.now() + timeoutSeconds * 1000;
  const countdown = f.io.stderrIsTTY;
  try {
    for (;;) {
      const left = until - Date.now();
      if (left <= 0)
        throw new AuthFailed(
          `no approval from the phone within ${timeoutSeconds} s; nothing changed (run the command again)`,
          'qr_timeout',
        );
      if (countdown) {
        const s = Math.ceil(left / 1000);
        f.io.progress(
          `Waiting for the approval on your phone: ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} left`,
        );
      }
      const state = await backend.awaitQrRecovery(request.requestId, Math.min(left, countdown ? 1000 : 15_000));
      if (state.state === 'approved') break;
      if (state.state === 'expired')
        throw new AuthFailed('the recovery request expired; nothing changed (run the command again)', 'qr_timeout');
    }
  } finally {
    if (countdown) f.io.progress(null);
  }
  f.io.note('Approved on the phone.');
  return request.requestId;
}
