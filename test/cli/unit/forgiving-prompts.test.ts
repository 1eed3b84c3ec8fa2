import { describe, expect, it } from 'vitest';
import { initRun } from '../../../src/cli/commands/init.js';
import { loginRun } from '../../../src/cli/commands/login.js';
import { recoveryEmailAddRun } from '../../../src/cli/commands/recovery.js';
import { AuthFailed } from '../../../src/errors.js';
import { ask, clock, createFakeFactory, enableTotp, initAlice, PASSWORD, rejection, totpNow } from './fake-factory.js';

// Issue #20 §6: a value typed at a prompt that the back end refuses is explained and asked again (up to
// three tries in all), instead of ending the command after everything was typed; the throttles still
// count every wrong password or code.

const login = (f: ReturnType<typeof createFakeFactory>) =>
  loginRun({ f, username: 'alice', sendCode: false, passwordStdin: false });

describe('prompts that forgive a typo (issue #20 §6)', () => {
  it('init: a bad username is explained and asked again; the address and password are kept', async () => {
    const f = createFakeFactory({
      script: [
        ask.text('Username:', 'Bad Name!'),
        ask.text('Email address:', 'alice@example.com'),
        ask.password('New password:', PASSWORD),
        ask.password('Repeat new password:', PASSWORD),
        ask.text('Username:', 'alice'),
      ],
    });
    await initRun({ f, passwordStdin: false });
    expect(f.io.warnings).toHaveLength(1);
    expect(f.io.warnings[0]).toMatch(/^invalid username "Bad Name!": .* \(try 2 of 3\)$/);
    expect(f.io.lines[0]).toBe('Created alice (admin) and signed in.');
  });

  it('init: a bad address, then a common password, each asked again alone', async () => {
    const f = createFakeFactory({
      script: [
        ask.text('Username:', 'alice'),
        ask.text('Email address:', 'not-an-address'),
        ask.password('New password:', 'password1234'),
        ask.password('Repeat new password:', 'password1234'),
        ask.text('Email address:', 'alice@example.com'),
        ask.password('New password:', PASSWORD),
        ask.password('Repeat new password:', PASSWORD),
      ],
    });
    await initRun({ f, passwordStdin: false });
    expect(f.io.warnings.map((w) => w.replace(/ \(try \d of 3\)$/, ''))).toEqual([
      'invalid email address "not-an-address"',
      expect.stringMatching(/common|characters/),
    ]);
    expect(f.io.lines[0]).toBe('Created alice (admin) and signed in.');
  });

  it('login: a wrong password, then the right one; a wrong app code, then the right one', async () => {
    const f = createFakeFactory({ script: [] });
    await initAlice(f);
    const { secret } = await enableTotp(f);
    clock.advance(60_000);
    f.prompter.script(
      ask.password('Password:', 'not the password at all'),
      ask.password('Password:', PASSWORD),
      ask.select('Second factor:', 'totp'),
      ask.text('Code (totp):', '000000'),
      ask.text('Code (totp):', () => totpNow(secret)),
    );
    await login(f);
    expect(f.io.warnings).toEqual([
      'wrong username or password (try 2 of 3)',
      expect.stringMatching(/wrong code.*\(try 2 of 3\)$/),
    ]);
    expect(f.io.lines.at(-1)).toMatch(/^Signed in as alice/);
  });

  it('login: three wrong passwords end the command (exit 3); each was a counted attempt', async () => {
    const wrong = ask.password('Password:', 'not the password at all');
    const f = createFakeFactory({ script: [wrong, wrong, wrong] });
    await initAlice(f);
    expect(await rejection(login(f))).toBeInstanceOf(AuthFailed);
    expect(f.io.warnings).toHaveLength(2);
  });

  it('recovery email add: Enter alone at the code prompt sends a new code; a wrong code is asked again', async () => {
    const f = createFakeFactory({ script: [] });
    await initAlice(f);
    const codes = () => f.outbox().map((m) => /\b(\d{6})\b/.exec(m)?.[1]);
    const prompt = 'Code from that email: (Enter alone: send a new code)';
    f.prompter.script(
      ask.text(prompt, ''), // at once: the resend limit says when, and the prompt comes back
      ask.text(prompt, () => {
        clock.advance(61_000);
        return '';
      }),
      ask.text(prompt, '000000'),
      ask.text(prompt, () => codes().at(-1)!),
    );
    await recoveryEmailAddRun({ f, address: 'backup@example.net', identity: {} });
    expect(f.io.warnings[0]).toMatch(/^a new code can be requested \d+ s from now/);
    expect(f.io.warnings[1]).toMatch(/\(try 2 of 3\)$/);
    expect(f.outbox().filter((m) => m.includes('backup@example.net')).length).toBeGreaterThanOrEqual(2);
    expect(f.io.notes.some((n) => n.startsWith('A new code is on its way to'))).toBe(true);
    expect(f.io.lines.at(-1)).toBe('backup@example.net is a verified recovery address.');
  });
});
