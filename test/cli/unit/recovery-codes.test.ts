import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recoveryCodesRegenerateRun, recoveryCodesViewRun } from '../../../src/cli/commands/recovery-codes.js';
import { AuthFailed, Conflict, InvalidInput, MissingInput } from '../../../src/errors.js';
import { PASSWORD, ask, clock, createFakeFactory, enableTotp, initAlice, rejection, totpNow } from './fake-factory.js';

const CONTINUE = 'This voids every current recovery code. Continue?';
const RECOVERY_CODE = /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/;

describe('recovery-codes view', () => {
  it('asks a fresh app code and lists the unused codes', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { secret, recoveryCodes } = await enableTotp(f);
    f.prompter.script(ask.text('Code from the app:', () => totpNow(secret)));
    await recoveryCodesViewRun({ f });
    expect(f.prompter.asked).toEqual([
      { kind: 'text', message: 'Code from the app:', supply: '--code', default: undefined },
    ]);
    expect(f.io.lines).toEqual(['10 recovery codes still valid:', ...recoveryCodes.map((c) => `  ${c}`)]);
  });

  it('a used code is no longer listed; --json gives {codes}', async () => {
    const f = createFakeFactory({ json: true, interactive: false });
    await initAlice(f);
    const { secret, recoveryCodes } = await enableTotp(f);
    const used = await (
      await f.backendWith(undefined)
    ).signIn({
      username: 'alice',
      password: PASSWORD,
      secondFactor: { method: 'recovery', code: recoveryCodes[0]! },
    });
    expect(used.status).toBe('signed-in');
    await recoveryCodesViewRun({ f, code: totpNow(secret) });
    expect(f.io.document()).toEqual({ codes: recoveryCodes.slice(1) });
  });

  it('one left: singular', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { secret, recoveryCodes } = await enableTotp(f);
    const signIn = await f.backendWith(undefined);
    for (const code of recoveryCodes.slice(0, 9)) {
      await signIn.signIn({
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'recovery', code },
      });
    }
    await recoveryCodesViewRun({ f, code: totpNow(secret) });
    expect(f.io.lines).toEqual(['1 recovery code still valid:', `  ${recoveryCodes[9]}`]);
  });

  it('a wrong code: AuthFailed, nothing shown', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await enableTotp(f);
    const err = await rejection(recoveryCodesViewRun({ f, code: '000000' }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect(f.io.printed).toEqual([]);
  });

  it('the code of a step already used: AuthFailed saying so', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { secret } = await enableTotp(f);
    const code = totpNow(secret);
    await recoveryCodesViewRun({ f, code });
    const err = await rejection(recoveryCodesViewRun({ f, code }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect(err.message).toBe('this code was already used; wait for the next one');
  });

  it('no app and no key: Conflict', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(recoveryCodesViewRun({ f, code: '123456' }));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.message).toBe(
      'no second factor is active, and recovery codes come with one: run `acctsec mfa totp enable` or `acctsec mfa key add`',
    );
  });

  it('without prompts and without --code: MissingInput', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    await enableTotp(f);
    const err = await rejection(recoveryCodesViewRun({ f }));
    expect(err).toBeInstanceOf(MissingInput);
    expect(err.message).toBe(
      'code from the app is needed and prompting is off (--no-input, CI or no terminal): use --code',
    );
  });

  it('a --timeout out of range: InvalidInput before anything is asked', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await enableTotp(f);
    const err = await rejection(recoveryCodesViewRun({ f, timeout: '1' }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).field).toBe('--timeout');
  });
});

describe('recovery-codes regenerate', () => {
  it('asks to continue (default yes), then the code; a new set, the old one void', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { secret, recoveryCodes: old } = await enableTotp(f);
    f.prompter.script(
      ask.confirm(CONTINUE, true),
      ask.text('Code from the app:', () => totpNow(secret)),
    );
    await recoveryCodesRegenerateRun({ f });
    expect(f.prompter.asked[0]).toEqual({ kind: 'confirm', message: CONTINUE, supply: '--yes', default: true });
    expect(f.io.lines[0]).toBe('New recovery codes (the old ones no longer work):');
    const codes = f.io.lines.slice(1).map((l) => l.replace(/^ {2}/, ''));
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(c).toMatch(RECOVERY_CODE);
    expect(codes.filter((c) => old.includes(c))).toEqual([]);
    const backend = await f.backendWith(undefined);
    const err = await rejection(
      backend.signIn({ username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code: old[0]! } }),
    );
    expect(err).toBeInstanceOf(AuthFailed);
    expect(err.message).toBe('wrong or already used recovery code');
  });

  it('a no: "Nothing changed." and no code asked', async () => {
    const f = createFakeFactory({ script: [ask.confirm(CONTINUE, false)] });
    await initAlice(f);
    await enableTotp(f);
    await recoveryCodesRegenerateRun({ f });
    expect(f.io.notes).toEqual(['Nothing changed.']);
    expect(f.io.lines).toEqual([]);
  });

  it('without prompts: no confirmation needed, --code and --output; --json gives {codes}', async () => {
    const f = createFakeFactory({ interactive: false, json: true });
    await initAlice(f);
    const { secret } = await enableTotp(f);
    const file = join(f.dir, 'new-codes.txt');
    await recoveryCodesRegenerateRun({ f, code: totpNow(secret), output: file });
    const { codes } = f.io.document<{ codes: string[] }>();
    expect(codes).toHaveLength(10);
    expect(f.io.notes).toEqual([`Saved to ${file} (mode 0600).`]);
    const text = readFileSync(file, 'utf8').split('\n');
    expect(text.slice(0, 2)).toEqual([
      'acctsec recovery codes for alice',
      'Generated 2026-11-23 10:00 UTC. Each code works once; a new set voids this one.',
    ]);
    expect(text.slice(4, 14)).toEqual(codes);
  });

  it('--yes at a terminal: no confirmation, only the code', async () => {
    const f = createFakeFactory({ yes: true });
    await initAlice(f);
    const { secret } = await enableTotp(f);
    clock.advance(30_000);
    f.prompter.script(ask.text('Code from the app:', () => totpNow(secret)));
    await recoveryCodesRegenerateRun({ f });
    expect(f.io.lines).toHaveLength(11);
  });
});
