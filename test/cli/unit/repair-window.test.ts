import { describe, expect, it } from 'vitest';
import { loginRun } from '../../../src/cli/commands/login.js';
import { mfaStatusRun, totpDisableRun } from '../../../src/cli/commands/mfa.js';
import { notificationsShowRun } from '../../../src/cli/commands/notifications.js';
import { recoveryCodesViewRun } from '../../../src/cli/commands/recovery-codes.js';
import { statusRun } from '../../../src/cli/commands/status.js';
import { MissingInput } from '../../../src/errors.js';
import { readFileSync } from 'node:fs';
import {
  ask,
  clock,
  createFakeFactory,
  enableTotp,
  initAlice,
  MINUTE,
  PASSWORD,
  rejection,
  totpNow,
  type FakeFactory,
} from './fake-factory.js';

/** The code in the newest message written to the outbox. */
function lastCode(f: FakeFactory): string {
  const d = f.deliveries.at(-1)!;
  if (d.via !== 'outbox') throw new Error('expected the outbox');
  return /^ {4}(\d{6})$/m.exec(readFileSync(d.path, 'utf8'))![1]!;
}

// Issue #20 §2: the repair window as the commands show it and use it; §4: the always-on notices.

async function aliceSignedInWithRecoveryCode(options: { json?: boolean } = {}) {
  const setup = createFakeFactory({ script: [] });
  await initAlice(setup);
  const { recoveryCodes } = await enableTotp(setup);
  const f = createFakeFactory({ shareWith: setup, script: [ask.password('Password:', PASSWORD)], ...options });
  await loginRun({ f, username: 'alice', code: recoveryCodes[0]!, sendCode: false, passwordStdin: false });
  return f;
}

describe('the repair window in the CLI (issue #20 §2)', () => {
  it('login with a recovery code says the window is open, and until when', async () => {
    const f = await aliceSignedInWithRecoveryCode();
    const until = new Date(clock.now() + 10 * MINUTE).toISOString().slice(0, 16).replace('T', ' ');
    expect(f.io.lines[0]).toMatch(/^Signed in as alice /);
    expect(f.io.lines[1]).toBe(
      `Repair window open until ${until}: you may turn off or remove a lost second factor (acctsec mfa totp disable, mfa email disable, mfa key remove) and enrol new ones without a code from it.`,
    );
  });

  it('login --json carries repairWindowUntil', async () => {
    const f = await aliceSignedInWithRecoveryCode({ json: true });
    const out = f.io.json.values[0] as { repairWindowUntil: string };
    expect(out.repairWindowUntil).toBe(new Date(clock.now() + 10 * MINUTE).toISOString());
  });

  it('status and mfa status show the window while it is open, and not after', async () => {
    const f = await aliceSignedInWithRecoveryCode();
    const g = createFakeFactory({ shareWith: f, script: [] });
    await statusRun({ f: g });
    expect(g.io.lines).toContainEqual(
      expect.stringMatching(/^Repair {5}window open until \d{4}-\d\d-\d\d \d\d:\d\d: /),
    );
    await mfaStatusRun({ f: g });
    expect(g.io.lines.at(-1)).toMatch(/^repair {3}window open until /);
    clock.advance(10 * MINUTE);
    const h = createFakeFactory({ shareWith: f, script: [] });
    await statusRun({ f: h });
    expect(h.io.lines.some((l) => l.startsWith('Repair'))).toBe(false);
  });

  it('mfa totp disable asks no code in the window; outside it, the code is asked', async () => {
    const f = await aliceSignedInWithRecoveryCode();
    const g = createFakeFactory({ shareWith: f, yes: true, interactive: false });
    await totpDisableRun({ f: g });
    expect(g.prompter.asked).toEqual([]);
    expect(g.io.notes).toContainEqual(expect.stringContaining('no code of this factor is needed'));
    expect(g.io.lines).toEqual(['The authenticator app is off. Sign-in now asks for the password only.']);
  });

  it('outside the window mfa totp disable still needs --code', async () => {
    const f = await aliceSignedInWithRecoveryCode();
    clock.advance(10 * MINUTE);
    const g = createFakeFactory({ shareWith: f, yes: true, interactive: false });
    const err = await rejection(totpDisableRun({ f: g }));
    expect(err).toBeInstanceOf(MissingInput);
  });

  it('recovery-codes view with the app off and email on: --send-code, then --method email --code', async () => {
    const setup = createFakeFactory({ script: [] });
    await initAlice(setup);
    const { secret } = await enableTotp(setup);
    const backend = await setup.backend();
    await backend.beginEmailMfa({ secondFactor: { method: 'totp', code: totpNow(secret) } });
    await backend.confirmEmailMfa(lastCode(setup));
    clock.advance(30_000);
    await backend.disableTotp(totpNow(secret), false);
    const f = createFakeFactory({ shareWith: setup, interactive: false });
    const need = await rejection(recoveryCodesViewRun({ f }));
    expect(need).toBeInstanceOf(MissingInput);
    expect(need.message).toContain('--send-code');
    await recoveryCodesViewRun({ f, sendCode: true });
    expect(f.io.lines.at(-1)).toMatch(/Then: acctsec recovery-codes view --method email --code <code>$/);
    const g = createFakeFactory({ shareWith: setup, interactive: false, json: true });
    await recoveryCodesViewRun({ f: g, method: 'email', code: lastCode(setup) });
    expect((g.io.json.values[0] as { codes: string[] }).codes).toHaveLength(10);
  });
});

describe('always-on security notices (issue #20 §4)', () => {
  it('notifications show lists them', async () => {
    const f = createFakeFactory({ script: [] });
    await initAlice(f);
    await notificationsShowRun({ f });
    expect(f.io.lines[1]).toMatch(
      /^Security {7}always on: password changed, username changed, .*sessions signed out, sign-in from a new device or address/,
    );
  });
});
