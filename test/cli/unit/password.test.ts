import { describe, expect, it, vi } from 'vitest';
import { passwordChangeRun } from '../../../src/cli/commands/password.js';
import { AuthFailed, InvalidInput, MissingInput } from '../../../src/errors.js';
import type { PasswordChangeResult } from '../../../src/views.js';
import {
  NEW_PASSWORD,
  PASSWORD,
  ask,
  createFakeFactory,
  initAlice,
  rejection,
  signInElsewhere,
  signInProfile,
  stubStdin,
  type FakeFactory,
} from './fake-factory.js';

const SUPPLY_CURRENT = 'ACCTSEC_PASSWORD or --password-stdin';
const SUPPLY_NEW = 'ACCTSEC_NEW_PASSWORD or --password-stdin';

async function signsInWith(f: FakeFactory, password: string): Promise<boolean> {
  const r = await (await f.backendWith(undefined)).signIn({ username: 'alice', password }).catch(() => undefined);
  return r?.status === 'signed-in';
}

describe('password change', () => {
  it('asks the current password, the new one twice; signs the other sessions out', async () => {
    const f = createFakeFactory({
      script: [
        ask.password('Current password:', PASSWORD),
        ask.password('New password:', NEW_PASSWORD),
        ask.password('Repeat new password:', NEW_PASSWORD),
      ],
    });
    await initAlice(f);
    const other = await signInElsewhere(f);
    await passwordChangeRun({ f, passwordStdin: false });
    expect(f.prompter.asked.map((p) => [p.message, p.supply])).toEqual([
      ['Current password:', SUPPLY_CURRENT],
      ['New password:', SUPPLY_NEW],
      ['Repeat new password:', SUPPLY_NEW],
    ]);
    expect(f.io.lines).toEqual(['Password changed. 1 other session signed out.']);
    expect(f.io.notes[0]).toMatch(/^Strength estimate: (very weak|weak|fair|strong|very strong) \([0-4]\/4\)/);
    expect(f.io.warnings).toEqual([]);
    expect(await signsInWith(f, NEW_PASSWORD)).toBe(true);
    expect(await signsInWith(f, PASSWORD)).toBe(false);
    await expect((await f.backendWith(other.token)).status()).rejects.toBeInstanceOf(AuthFailed);
    // The profile's own session goes on.
    expect((await (await f.backend()).status()).username).toBe('alice');
  });

  it('a mismatched repeat warns and asks both again', async () => {
    const f = createFakeFactory({
      script: [
        ask.password('Current password:', PASSWORD),
        ask.password('New password:', NEW_PASSWORD),
        ask.password('Repeat new password:', 'a typo in the repeat of it'),
        ask.password('New password:', NEW_PASSWORD),
        ask.password('Repeat new password:', NEW_PASSWORD),
      ],
    });
    await initAlice(f);
    await passwordChangeRun({ f, passwordStdin: false });
    expect(f.io.warnings).toEqual(['the two passwords differ; try again']);
    expect(f.io.lines).toEqual(['Password changed. 0 other sessions signed out.']);
  });

  it('--json: the PasswordChangeResult; a short password without MFA gets a NIST notice on stderr', async () => {
    const short = 'Plover-Sax-71';
    const f = createFakeFactory({
      json: true,
      script: [
        ask.password('Current password:', PASSWORD),
        ask.password('New password:', short),
        ask.password('Repeat new password:', short),
      ],
    });
    await initAlice(f);
    await passwordChangeRun({ f, passwordStdin: false });
    const notice =
      'this account has no second factor: NIST SP 800-63B rev 4 asks for at least 15 characters when the password is the only factor; consider `acctsec mfa totp enable`';
    const result = f.io.document<PasswordChangeResult>();
    expect(result).toEqual({
      passwordChangedAt: '2026-11-23T10:00:00.000Z',
      revokedSessions: 0,
      strength: {
        score: result.strength.score,
        warning: result.strength.warning,
        suggestions: result.strength.suggestions,
      },
      notices: [notice],
    });
    expect(f.io.warnings).toEqual([notice]);
    expect(f.io.notes).toEqual([]);
  });

  it('a wrong current password at the prompt is asked again (issue #20 §6); the third ends with AuthFailed, unchanged', async () => {
    const wrong = ask.password('Current password:', 'not my password at all');
    const f = createFakeFactory({
      script: [
        wrong,
        ask.password('New password:', NEW_PASSWORD),
        ask.password('Repeat new password:', NEW_PASSWORD),
        wrong,
        wrong,
      ],
    });
    await initAlice(f);
    const err = await rejection(passwordChangeRun({ f, passwordStdin: false }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect(err.message).toBe('the current password is wrong');
    expect(f.io.warnings).toEqual([
      'the current password is wrong (try 2 of 3)',
      'the current password is wrong (try 3 of 3)',
    ]);
    expect(f.io.lines).toEqual([]);
    expect(await signsInWith(f, PASSWORD)).toBe(true);
  });

  it('a wrong current password, then the right one: changed, the new password typed once only', async () => {
    const f = createFakeFactory({
      script: [
        ask.password('Current password:', 'not my password at all'),
        ask.password('New password:', NEW_PASSWORD),
        ask.password('Repeat new password:', NEW_PASSWORD),
        ask.password('Current password:', PASSWORD),
      ],
    });
    await initAlice(f);
    await passwordChangeRun({ f, passwordStdin: false });
    expect(f.io.lines).toEqual(['Password changed. 0 other sessions signed out.']);
    expect(await signsInWith(f, NEW_PASSWORD)).toBe(true);
  });

  it('from ACCTSEC_PASSWORD a wrong current password is not asked again: AuthFailed at once', async () => {
    vi.stubEnv('ACCTSEC_PASSWORD', 'not my password at all');
    const f = createFakeFactory({
      script: [ask.password('New password:', NEW_PASSWORD), ask.password('Repeat new password:', NEW_PASSWORD)],
    });
    try {
      await initAlice(f);
      expect(await rejection(passwordChangeRun({ f, passwordStdin: false }))).toBeInstanceOf(AuthFailed);
      expect(f.io.warnings).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each([
    ['short', 'the new password has 5 characters; it needs at least 12'],
    [PASSWORD, 'the new password is the current password; choose a different one'],
    ['alice-is-my-name-forever', 'the new password contains the username; choose one that does not'],
  ])(
    'a refused new password %j is explained and asked again; three refusals end with InvalidInput naming the rule',
    async (next, message) => {
      const refused = [ask.password('New password:', next), ask.password('Repeat new password:', next)];
      const f = createFakeFactory({
        script: [ask.password('Current password:', PASSWORD), ...refused, ...refused, ...refused],
      });
      await initAlice(f);
      const err = await rejection(passwordChangeRun({ f, passwordStdin: false }));
      expect(err).toBeInstanceOf(InvalidInput);
      expect(err.message).toBe(message);
      expect((err as InvalidInput).field).toBe('password');
      expect(f.io.warnings).toEqual([`${message} (try 2 of 3)`, `${message} (try 3 of 3)`]);
    },
  );

  it('a refused new password, then a good one: changed, the current password typed once only', async () => {
    const f = createFakeFactory({
      script: [
        ask.password('Current password:', PASSWORD),
        ask.password('New password:', 'short'),
        ask.password('Repeat new password:', 'short'),
        ask.password('New password:', NEW_PASSWORD),
        ask.password('Repeat new password:', NEW_PASSWORD),
      ],
    });
    await initAlice(f);
    await passwordChangeRun({ f, passwordStdin: false });
    expect(f.io.lines).toEqual(['Password changed. 0 other sessions signed out.']);
  });

  it('without prompts: MissingInput naming ACCTSEC_PASSWORD and --password-stdin', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const err = await rejection(passwordChangeRun({ f, passwordStdin: false }));
    expect(err).toBeInstanceOf(MissingInput);
    expect(err.message).toBe(
      'current password is needed and prompting is off (--no-input, CI or no terminal): use ACCTSEC_PASSWORD or --password-stdin',
    );
  });

  it('ACCTSEC_PASSWORD and ACCTSEC_NEW_PASSWORD: no prompt at all', async () => {
    vi.stubEnv('ACCTSEC_PASSWORD', PASSWORD);
    vi.stubEnv('ACCTSEC_NEW_PASSWORD', NEW_PASSWORD);
    try {
      const f = createFakeFactory({ interactive: false });
      await initAlice(f);
      await passwordChangeRun({ f, passwordStdin: false });
      expect(f.io.lines).toEqual(['Password changed. 0 other sessions signed out.']);
      expect(f.prompter.asked).toEqual([]);
      expect(await signsInWith(f, NEW_PASSWORD)).toBe(true);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('only ACCTSEC_PASSWORD without prompts: MissingInput for the new one', async () => {
    vi.stubEnv('ACCTSEC_PASSWORD', PASSWORD);
    try {
      const f = createFakeFactory({ interactive: false });
      await initAlice(f);
      const err = await rejection(passwordChangeRun({ f, passwordStdin: false }));
      expect(err).toBeInstanceOf(MissingInput);
      expect(err.message).toBe(
        'new password is needed and prompting is off (--no-input, CI or no terminal): use ACCTSEC_NEW_PASSWORD or --password-stdin',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('--password-stdin: line 1 current, line 2 new, line 3 its repeat', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    stubStdin(`${PASSWORD}\n${NEW_PASSWORD}\n${NEW_PASSWORD}\n`);
    const { passwordChangeRun: fresh } = await import('../../../src/cli/commands/password.js');
    await fresh({ f, passwordStdin: true });
    expect(f.io.lines).toEqual(['Password changed. 0 other sessions signed out.']);
    expect(await signsInWith(f, NEW_PASSWORD)).toBe(true);
  });

  it('--password-stdin with a repeat that differs: InvalidInput naming --password-stdin', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    stubStdin(`${PASSWORD}\n${NEW_PASSWORD}\nsomething else entirely\n`);
    const { passwordChangeRun: fresh } = await import('../../../src/cli/commands/password.js');
    const errors = await import('../../../src/errors.js');
    const err = await rejection(fresh({ f, passwordStdin: true }));
    expect(err).toBeInstanceOf(errors.InvalidInput);
    expect(err.message).toBe('the repeated new password does not match');
    expect((err as InvalidInput).field).toBe('--password-stdin');
    expect(await signsInWith(f, PASSWORD)).toBe(true);
  });

  it('--password-stdin with no second line: MissingInput', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    stubStdin(`${PASSWORD}\n`);
    const { passwordChangeRun: fresh } = await import('../../../src/cli/commands/password.js');
    const errors = await import('../../../src/errors.js');
    const err = await rejection(fresh({ f, passwordStdin: true }));
    expect(err).toBeInstanceOf(errors.MissingInput);
    expect(err.message).toBe('--password-stdin: line 2 of stdin should hold the new password, and it is empty');
  });

  it('not signed in: AuthFailed not_signed_in (only once the passwords were asked: the back end is called last)', async () => {
    const f = createFakeFactory({
      script: [
        ask.password('Current password:', PASSWORD),
        ask.password('New password:', NEW_PASSWORD),
        ask.password('Repeat new password:', NEW_PASSWORD),
      ],
    });
    await initAlice(f);
    await signInProfile(f);
    await (await f.profiles()).clearSession();
    const err = await rejection(passwordChangeRun({ f, passwordStdin: false }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect((err as AuthFailed).slug).toBe('not_signed_in');
    expect(await signsInWith(f, PASSWORD)).toBe(true);
  });
});
