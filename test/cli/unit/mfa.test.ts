import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { mfaStatusRun, totpConfirmRun, totpDisableRun, totpEnableRun } from '../../../src/cli/commands/mfa.js';
import { AuthFailed, Conflict, InvalidInput, MissingInput, NotFound } from '../../../src/errors.js';
import type { MfaStatus, TotpEnabled, TotpEnrollment } from '../../../src/views.js';
import {
  MINUTE,
  PASSWORD,
  ask,
  clock,
  createFakeFactory,
  enableTotp,
  initAlice,
  rejection,
  totpNow,
  type FakeFactory,
} from './fake-factory.js';

const ACTIVE = 'The authenticator app is active: sign-in now asks for a code from it.';
const RECOVERY_CODE = /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/;

/** The secret of the enrollment the command printed, read back from its otpauth URI. */
function printedSecret(f: FakeFactory): string {
  const uri = f.io.lines.find((l) => l.startsWith('URI: '))?.slice(5);
  if (!uri) throw new Error(`no URI printed: ${JSON.stringify(f.io.lines)}`);
  const secret = new URL(uri).searchParams.get('secret');
  if (!secret) throw new Error(`no secret in ${uri}`);
  return secret;
}

async function isTotpOn(f: FakeFactory): Promise<boolean> {
  return (await (await f.backend()).mfaStatus()).methods.some((m) => m.type === 'totp' && m.enabled);
}

describe('mfa totp enable', () => {
  it('at a terminal: password, key and URI, the code asked, recovery codes shown and saved to a file', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const file = join(f.dir, 'codes.txt');
    f.prompter.script(
      ask.password('Password:', PASSWORD),
      ask.text('Code from the app:', () => totpNow(printedSecret(f))),
      ask.confirm('Save them to a text file?', true),
      ask.text('File:', file),
    );
    await totpEnableRun({ f, qr: 'none', identity: {} });
    const secret = printedSecret(f);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const lines = f.io.lines;
    expect(lines.slice(0, 5)).toEqual([
      'Key for manual entry (time-based, 6 digits, every 30 s):',
      `  ${secret.match(/.{4}/g)!.join(' ')}`,
      `URI: otpauth://totp/acctsec:alice?issuer=acctsec&secret=${secret}&algorithm=SHA1&digits=6&period=30`,
      ACTIVE,
      '',
    ]);
    expect(lines.slice(5, 7)).toEqual([
      'Recovery codes (each works once, in place of a code from the app). They are not shown again',
      'without a fresh authenticator code, so save them now:',
    ]);
    const codes = lines.slice(7).map((l) => l.replace(/^ {2}/, ''));
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(c).toMatch(RECOVERY_CODE);
    expect(f.prompter.asked.map((p) => p.message)).toEqual([
      'Password:',
      'Code from the app:',
      'Save them to a text file?',
      'File:',
    ]);
    expect(f.prompter.asked[2]).toMatchObject({ supply: '--recovery-codes-file', default: true });
    expect(f.prompter.asked[3]).toMatchObject({ default: 'acctsec-recovery-codes.txt' });
    expect(f.io.notes).toEqual(['Confirm your identity to continue.', `Saved to ${file} (mode 0600).`]);
    const saved = readFileSync(file, 'utf8').split('\n');
    expect(saved[0]).toBe('acctsec recovery codes for alice');
    expect(saved.slice(4, 14)).toEqual(codes);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await isTotpOn(f)).toBe(true);
  });

  it('a wrong code warns and asks again; declining the file saves nothing', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    f.prompter.script(
      ask.password('Password:', PASSWORD),
      ask.text('Code from the app:', '000000'),
      ask.text('Code from the app:', () => totpNow(printedSecret(f))),
      ask.confirm('Save them to a text file?', false),
    );
    await totpEnableRun({ f, qr: 'none', identity: {} });
    expect(f.io.warnings).toHaveLength(1);
    expect(f.io.warnings[0]).toMatch(/^wrong code.*; try again$/);
    expect(f.io.lines).toContain(ACTIVE);
    expect(f.io.notes).toEqual(['Confirm your identity to continue.']);
  });

  it('--recovery-codes-file: saved without asking', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const file = join(f.dir, 'given.txt');
    f.prompter.script(
      ask.password('Password:', PASSWORD),
      ask.text('Code from the app:', () => totpNow(printedSecret(f))),
    );
    await totpEnableRun({ f, qr: 'none', recoveryCodesFile: file, identity: {} });
    expect(f.io.notes).toEqual(['Confirm your identity to continue.', `Saved to ${file} (mode 0600).`]);
    expect(readFileSync(file, 'utf8')).toContain('acctsec recovery codes for alice');
  });

  it('the QR code (no colour, 80 columns): the URI first, the code with the key beside it', async () => {
    vi.stubEnv('COLUMNS', '80');
    vi.stubEnv('LINES', '');
    vi.stubEnv('ACCTSEC_PASSWORD', PASSWORD);
    try {
      const f = createFakeFactory({ interactive: false });
      await initAlice(f);
      await totpEnableRun({ f, qr: 'utf8', identity: {} });
      const secret = printedSecret(f);
      expect(f.io.notes).toEqual(['Without colour the QR code assumes a dark background; the key works too.']);
      expect(f.io.lines[0]).toBe(
        `URI: otpauth://totp/acctsec:alice?issuer=acctsec&secret=${secret}&algorithm=SHA1&digits=6&period=30`,
      );
      const qr = f.io.lines.slice(1, -1);
      expect(qr.length).toBeGreaterThan(20);
      for (const l of qr) expect(l).toMatch(/^[ █▀▄]{49}/);
      const beside = qr.map((l) => l.slice(52));
      const groups = secret.match(/.{4}/g)!;
      expect(beside.slice(0, 11)).toEqual([
        'Scan it with your',
        'authenticator app',
        '(Google Authenticator,',
        'Authy, 1Password...),',
        '',
        'or type in this key',
        '(time-based, 6 digits,',
        'every 30 s):',
        '',
        `  ${groups.slice(0, 4).join(' ')}`,
        `  ${groups.slice(4).join(' ')}`,
      ]);
      expect(f.io.lines.at(-1)).toBe('Then, before 2026-11-23 10:10: acctsec mfa totp confirm --code <6-digit code>');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('without prompts, inside the window: only begins, and says how to confirm', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    // Enrollment always confirms identity, even inside the 10-minute window: the password from the environment.
    vi.stubEnv('ACCTSEC_PASSWORD', PASSWORD);
    try {
      await totpEnableRun({ f, qr: 'none', identity: {} });
    } finally {
      vi.unstubAllEnvs();
    }
    expect(f.io.lines).toEqual([
      'Key for manual entry (time-based, 6 digits, every 30 s):',
      `  ${printedSecret(f).match(/.{4}/g)!.join(' ')}`,
      expect.stringMatching(/^URI: otpauth:\/\/totp\//),
      'Then, before 2026-11-23 10:10: acctsec mfa totp confirm --code <6-digit code>',
    ]);
    expect(await isTotpOn(f)).toBe(false);
  });

  it('without prompts and no password: MissingInput, as enrollment always confirms identity', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const err = await rejection(totpEnableRun({ f, qr: 'none', identity: {} }));
    expect(err).toBeInstanceOf(MissingInput);
    expect(err.message).toBe(
      'this change needs you to confirm your identity: use ACCTSEC_PASSWORD or --password-stdin',
    );
    expect(f.io.printed).toEqual([]);
  });

  it('--json: the pending enrollment only', async () => {
    const f = createFakeFactory({ json: true, script: [ask.password('Password:', PASSWORD)] });
    await initAlice(f);
    await totpEnableRun({ f, qr: 'utf8', identity: {} });
    const e = f.io.document<TotpEnrollment>();
    expect(e).toEqual({
      secret: e.secret,
      uri: `otpauth://totp/acctsec:alice?issuer=acctsec&secret=${e.secret}&algorithm=SHA1&digits=6&period=30`,
      expiresAt: '2026-11-23T10:10:00.000Z',
    });
  });

  it('already on: Conflict', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await enableTotp(f);
    const err = await rejection(totpEnableRun({ f, qr: 'none', identity: {} }));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.message).toMatch(/^the authenticator app is already active/);
  });
});

describe('mfa totp confirm', () => {
  async function pending(f: FakeFactory): Promise<string> {
    return (await (await f.backend()).beginTotp({ password: PASSWORD })).secret;
  }

  it('--code: activates; the recovery codes shown, no file offered without a terminal', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const secret = await pending(f);
    await totpConfirmRun({ f, code: totpNow(secret) });
    expect(f.io.lines.slice(0, 4)).toEqual([
      ACTIVE,
      '',
      'Recovery codes (each works once, in place of a code from the app). They are not shown again',
      'without a fresh authenticator code, so save them now:',
    ]);
    expect(f.io.lines.slice(4)).toHaveLength(10);
    expect(f.prompter.asked).toEqual([]);
    expect(await isTotpOn(f)).toBe(true);
  });

  it('at a terminal: the code is asked, then the file offered', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const secret = await pending(f);
    f.prompter.script(
      ask.text('Code from the app:', () => totpNow(secret)),
      ask.confirm('Save them to a text file?', false),
    );
    await totpConfirmRun({ f });
    expect(f.prompter.asked[0]).toEqual({
      kind: 'text',
      message: 'Code from the app:',
      supply: '--code',
      default: undefined,
    });
    expect(f.io.lines[0]).toBe(ACTIVE);
  });

  it('--json --recovery-codes-file: the codes in the document and in the file', async () => {
    const f = createFakeFactory({ json: true, interactive: false });
    await initAlice(f);
    const secret = await pending(f);
    const file = join(f.dir, 'codes.txt');
    await totpConfirmRun({ f, code: totpNow(secret), recoveryCodesFile: file });
    const done = f.io.document<TotpEnabled>();
    expect(done.enabled).toBe(true);
    expect(done.recoveryCodes).toHaveLength(10);
    expect(readFileSync(file, 'utf8').split('\n').slice(4, 14)).toEqual(done.recoveryCodes);
  });

  it('a wrong code: AuthFailed, still pending', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const secret = await pending(f);
    const err = await rejection(totpConfirmRun({ f, code: '12345' }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect(err.message).toBe('wrong code: an authenticator code is 6 digits');
    await totpConfirmRun({ f, code: totpNow(secret) });
    expect(await isTotpOn(f)).toBe(true);
  });

  it('nothing pending (or expired after 10 minutes): NotFound', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const secret = await pending(f);
    clock.advance(10 * MINUTE + 1000);
    const err = await rejection(totpConfirmRun({ f, code: totpNow(secret) }));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toBe(
      'no authenticator enrollment is pending (they last 10 minutes); run `acctsec mfa totp enable`',
    );
  });

  it('no --code without prompts: MissingInput naming --code', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    await pending(f);
    const err = await rejection(totpConfirmRun({ f }));
    expect(err).toBeInstanceOf(MissingInput);
    expect(err.message).toBe(
      'code from the app is needed and prompting is off (--no-input, CI or no terminal): use --code',
    );
  });
});

describe('mfa totp disable', () => {
  it('the last method: warns, asks (default no), asks the code, turns it off', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { secret } = await enableTotp(f);
    f.prompter.script(
      ask.confirm('Disable it anyway?', true),
      ask.text('Code from the app:', () => totpNow(secret)),
    );
    await totpDisableRun({ f });
    expect(f.io.warnings).toEqual([
      'this is your last second factor: without it, sign-in falls back to the password alone',
    ]);
    expect(f.prompter.asked[0]).toEqual({
      kind: 'confirm',
      message: 'Disable it anyway?',
      supply: '--yes',
      default: false,
    });
    expect(f.io.lines).toEqual(['The authenticator app is off. Sign-in now asks for the password only.']);
    expect(await isTotpOn(f)).toBe(false);
    // The recovery codes went with the last method.
    expect((await (await f.backend()).mfaStatus()).recoveryCodesLeft).toBeNull();
  });

  it('a no: "Nothing changed.", no code asked', async () => {
    const f = createFakeFactory({ script: [ask.confirm('Disable it anyway?', false)] });
    await initAlice(f);
    await enableTotp(f);
    await totpDisableRun({ f });
    expect(f.io.notes).toEqual(['Nothing changed.']);
    expect(f.io.lines).toEqual([]);
    expect(await isTotpOn(f)).toBe(true);
  });

  it('--yes --code --json: no prompt; the result document', async () => {
    const f = createFakeFactory({ yes: true, json: true, interactive: false });
    await initAlice(f);
    const { secret } = await enableTotp(f);
    await totpDisableRun({ f, code: totpNow(secret) });
    expect(f.io.document()).toEqual({ disabled: true, remainingMethods: [] });
    expect(f.io.warnings).toEqual([
      'this is your last second factor: without it, sign-in falls back to the password alone',
    ]);
  });

  it('the last method without prompts and without --yes: InvalidInput naming --yes', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const { secret } = await enableTotp(f);
    const err = await rejection(totpDisableRun({ f, code: totpNow(secret) }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toBe('disabling the last second factor needs --yes under --no-input');
    expect((err as InvalidInput).field).toBe('--yes');
    expect(await isTotpOn(f)).toBe(true);
  });

  it('a wrong code: AuthFailed, still on', async () => {
    const f = createFakeFactory({ yes: true });
    await initAlice(f);
    await enableTotp(f);
    const err = await rejection(totpDisableRun({ f, code: '000000' }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect(await isTotpOn(f)).toBe(true);
  });

  it('not on: Conflict', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(totpDisableRun({ f, code: '123456' }));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.message).toBe('the authenticator app is not active; nothing to disable');
  });
});

describe('mfa status', () => {
  it('nothing on', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await mfaStatusRun({ f });
    expect(f.io.lines).toEqual(['totp     off', 'email    off', 'key      off']);
  });

  it('the app on, with its recovery codes', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await enableTotp(f);
    await mfaStatusRun({ f });
    expect(f.io.lines).toEqual([
      'totp     enabled since 2026-11-23 10:00',
      'email    off',
      'key      off',
      'recovery 10 codes left',
    ]);
  });

  it('--json: the MfaStatus', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await enableTotp(f);
    await mfaStatusRun({ f });
    expect(f.io.document<MfaStatus>()).toEqual({
      methods: [
        { type: 'totp', enabled: true, enabledAt: '2026-11-23T10:00:00.000Z' },
        { type: 'email', enabled: false, enabledAt: null },
        { type: 'key', enabled: false, enabledAt: null, keys: 0 },
      ],
      recoveryCodesLeft: 10,
      repairWindowUntil: null,
    });
  });
});
