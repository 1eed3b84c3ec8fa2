import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awayFromStepEdge, codeAt } from '../rfc6238.js';
import { TestSmtp } from '../smtp.js';
import { Home, json, PASSWORD, type Result } from './helpers.js';

// Issue #20 §2 (the repair window of a recovery-code sign-in; recovery codes with email codes only)
// and §4 (security notices for every change, and sign-ins from a new device), through the built CLI
// with a real SMTP server, locally and (ACCTSEC_E2E_MODE=remote) against `acctsec serve`.

const ALICE = 'alice@example.com';

describe('repairing a lost second factor, and notices for every change', () => {
  let smtp: TestSmtp;
  let home: Home;
  beforeAll(async () => {
    smtp = await TestSmtp.start();
  });
  afterAll(() => smtp.stop());
  beforeEach(async () => {
    home = new Home();
    // Before the first command: in remote mode the server reads it as it starts.
    expect((await home.run(['config', 'set', 'mail.smtp', smtp.url()])).exitCode).toBe(0);
    await home.init();
  });
  afterEach(() => home.remove());

  const withPassword = { env: { ACCTSEC_PASSWORD: PASSWORD } };
  const ok = (r: Result): Result => {
    expect(r.exitCode, r.stderr).toBe(0);
    return r;
  };
  const subjects = (since: number) =>
    smtp.messages
      .slice(since)
      .filter((m) => m.to.includes(ALICE))
      .map((m) => m.parsed.subject ?? '');
  /** Waits for a notice: some go after the answer. */
  async function notice(since: number, text: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!subjects(since).some((s) => s.includes(text))) {
      if (Date.now() > deadline) throw new Error(`no notice "${text}"; got: ${subjects(since).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function enrollTotp(): Promise<{ secret: string; recoveryCodes: string[] }> {
    await awayFromStepEdge(2500);
    const begin = ok(await home.run(['mfa', 'totp', 'enable', '--no-input', '--json'], withPassword));
    const { secret } = json<{ secret: string }>(begin);
    const confirm = ok(await home.run(['mfa', 'totp', 'confirm', '--code', codeAt(secret, -1), '--json']));
    return { secret, recoveryCodes: json<{ recoveryCodes: string[] }>(confirm).recoveryCodes };
  }

  const login = (args: string[]) => home.run(['login', '--username', 'alice', '--no-input', ...args], withPassword);

  it('a recovery-code sign-in opens the window: status shows it, the lost app goes and a new one comes without its code', async () => {
    const { recoveryCodes } = await enrollTotp();
    const signedIn = ok(await login(['--code', recoveryCodes[0]!]));
    expect(signedIn.stdout).toMatch(/Repair window open until .+: you may turn off or remove a lost second factor/);
    const status = ok(await home.run(['status']));
    expect(status.stdout).toMatch(/^Repair {5}window open until /m);
    const until = json<{ repairWindowUntil: string }>(ok(await home.run(['status', '--json']))).repairWindowUntil;
    expect(Date.parse(until) - Date.now()).toBeGreaterThan(8 * 60_000);
    expect(Date.parse(until) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(ok(await home.run(['mfa', 'status'])).stdout).toContain('repair   window open until');
    const mark = smtp.messages.length;
    // No code: the phone is lost. The last method still needs the yes.
    const off = ok(await home.run(['mfa', 'totp', 'disable', '--yes', '--no-input']));
    expect(off.stdout).toContain('The authenticator app is off.');
    await notice(mark, 'the authenticator app was turned off as a second factor (in the repair window');
    // A new phone: the password, as always when no second factor is left.
    const { secret } = await enrollTotp();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await notice(mark, 'the authenticator app was turned on as a second factor (in the repair window');
    const log = json<{ event: string; detail: Record<string, unknown> | null }[]>(
      ok(await home.run(['activity', '--json'])),
    );
    expect(log.find((e) => e.event === 'mfa.totp.disabled')?.detail).toMatchObject({ repairWindow: true });
    expect(log.find((e) => e.event === 'mfa.totp.enabled')?.detail).toEqual({ repairWindow: true });
  });

  it('the window is refused once 10 minutes have passed, and a normal sign-in opens none', async () => {
    const { secret, recoveryCodes } = await enrollTotp();
    const signedIn = json<{ sessionId: string; repairWindowUntil?: string }>(
      ok(await login(['--code', recoveryCodes[0]!, '--json'])),
    );
    expect(typeof signedIn.repairWindowUntil).toBe('string');
    // Eleven minutes later, as the store sees it.
    execFileSync('sqlite3', [
      home.dbPath,
      `UPDATE sessions SET created_at = created_at - 660000, authenticated_at = authenticated_at - 660000, repair_until = repair_until - 660000 WHERE id = '${signedIn.sessionId}';`,
    ]);
    expect(json<{ repairWindowUntil: null }>(ok(await home.run(['status', '--json']))).repairWindowUntil).toBeNull();
    expect(ok(await home.run(['status'])).stdout).not.toContain('Repair');
    const asked = await home.run(['mfa', 'totp', 'disable', '--yes', '--no-input']);
    expect(asked.exitCode).toBe(2);
    expect(asked.stderr).toContain('--code');
    const wrong = await home.run(['mfa', 'totp', 'disable', '--yes', '--no-input', '--code', '000000']);
    expect(wrong.exitCode).toBe(3);

    await awayFromStepEdge(4000);
    const normal = ok(await login(['--method', 'totp', '--code', codeAt(secret)]));
    expect(normal.stdout).not.toContain('Repair window');
    expect(json<{ repairWindowUntil: null }>(ok(await home.run(['status', '--json']))).repairWindowUntil).toBeNull();
    expect((await home.run(['mfa', 'totp', 'disable', '--yes', '--no-input'])).exitCode).toBe(2);
    expect(
      json<{ methods: { type: string; enabled: boolean }[] }>(ok(await home.run(['mfa', 'status', '--json'])))
        .methods[0],
    ).toMatchObject({ type: 'totp', enabled: true });
  });

  it('recovery codes keep working with email codes only, and are viewed and renewed with an emailed code', async () => {
    const { secret, recoveryCodes } = await enrollTotp();
    await awayFromStepEdge(4000);
    let mark = smtp.messages.length;
    ok(await home.run(['mfa', 'email', 'enable', '--no-input', '--method', 'totp', '--code', codeAt(secret)]));
    ok(await home.run(['mfa', 'email', 'confirm', '--code', await smtp.code(ALICE, mark)]));
    await awayFromStepEdge(4000);
    ok(await home.run(['mfa', 'totp', 'disable', '--no-input', '--code', codeAt(secret, 1)]));
    const signedIn = ok(await login(['--code', recoveryCodes[0]!]));
    expect(signedIn.stderr).toContain('recovery code accepted; 9 left');
    mark = smtp.messages.length;
    const sent = ok(await home.run(['recovery-codes', 'view', '--send-code']));
    expect(sent.stdout).toContain('acctsec recovery-codes view --method email --code <code>');
    const view = ok(
      await home.run(['recovery-codes', 'view', '--method', 'email', '--code', await smtp.code(ALICE, mark), '--json']),
    );
    expect(json<{ codes: string[] }>(view).codes).toHaveLength(9);
    const wrong = await home.run([
      'recovery-codes',
      'regenerate',
      '--no-input',
      '--method',
      'email',
      '--code',
      '000000',
    ]);
    expect(wrong.exitCode).toBe(3);
  });

  it('username change, session and token revoke, API key delete and a new device each send a notice', async () => {
    // Mail settings are per profile (the server's own in remote mode).
    if (!home.remote)
      for (const profile of ['laptop', 'desk'])
        ok(await home.run(['--profile', profile, 'config', 'set', 'mail.smtp', smtp.url()]));
    const mark = smtp.messages.length;
    // Another profile is another device: a notice; the first profile's device is known since init.
    const other = json<{ sessionId: string }>(
      ok(await home.run(['--profile', 'laptop', 'login', '--username', 'alice', '--no-input', '--json'], withPassword)),
    );
    await notice(mark, 'a sign-in from a new device');
    ok(await home.run(['--profile', 'desk', 'login', '--username', 'alice', '--no-input'], withPassword));
    ok(await login([]));
    expect(subjects(mark).filter((s) => s.includes('a sign-in from a new device'))).toHaveLength(2);
    ok(await home.run(['sessions', 'revoke', other.sessionId, '--no-input'], withPassword));
    await notice(mark, `the session ${other.sessionId} was signed out`);
    ok(await home.run(['sessions', 'revoke', '--others', '--no-input', '--yes'], withPassword));
    await notice(mark, 'every other session was signed out');
    ok(
      await home.run(['token', 'create', '--name', 'ci', '--scope', 'dns:read', '--no-input', '--json'], withPassword),
    );
    ok(await home.run(['token', 'revoke', 'ci', '--no-input'], withPassword));
    await notice(mark, 'the access token "ci" was revoked');
    ok(await home.run(['apikey', 'generate', '--yes', '--no-input'], withPassword));
    ok(await home.run(['apikey', 'delete', '--yes', '--no-input'], withPassword));
    await notice(mark, 'the legacy API key was deleted');
    ok(await home.run(['username', 'change', 'alice2', '--no-input'], withPassword));
    await notice(mark, 'your username was changed from alice to alice2');
    const events = json<{ event: string }[]>(ok(await home.run(['activity', '--json', '--limit', '50']))).map(
      (e) => e.event,
    );
    for (const e of [
      'signin.new_source',
      'session.revoked',
      'sessions.revoked_others',
      'token.revoked',
      'apikey.deleted',
      'username.changed',
    ])
      expect(events).toContain(e);
    const settings = json<{ alwaysOn: string[] }>(ok(await home.run(['notifications', 'show', '--json'])));
    expect(settings.alwaysOn).toContain('sign-in from a new device or address');
    expect(ok(await home.run(['notifications', 'show'])).stdout).toMatch(/Security +always on: .*username changed/);
  });
});
