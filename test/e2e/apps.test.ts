import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Home, json } from './helpers.js';

// Issue #21 "My apps" through the built CLI: what only a real process shows (exit codes, stderr
// wording, --json, the secret printed once). The rules are in test/service/oauth-apps.test.ts and
// test/contract/apps.test.ts. One home for the file, few spawns.

interface App {
  clientId: string;
  name: string;
  owner: string;
  redirectUris: string[];
  public: boolean;
  disabled: { at: string; by: string; reason: string } | null;
  clientSecret?: string;
}

const UMA_PASSWORD = 'user account passphrase';

describe('acctsec apps', () => {
  let home: Home;
  let printer: App;
  beforeAll(async () => {
    home = new Home();
    await home.init(); // alice, the first admin
  });
  afterAll(() => home.remove());

  const uma = (args: string[]) => home.run(['--profile', 'uma', ...args]);

  it('create: a confidential app prints its client id and secret once (--json: both), a public app none', async () => {
    const made = await home.run([
      'apps',
      'create',
      '--name',
      'Photo printer',
      '--redirect-uri',
      'https://printer.example/callback',
      '--redirect-uri',
      'http://127.0.0.1:8765/cb',
      '--json',
    ]);
    expect(made.exitCode, made.stderr).toBe(0);
    printer = json<App>(made);
    expect(printer).toMatchObject({
      name: 'Photo printer',
      owner: 'alice',
      public: false,
      redirectUris: ['https://printer.example/callback', 'http://127.0.0.1:8765/cb'],
    });
    expect(printer.clientId).toMatch(/^app_[0-9A-Za-z]{22}$/);
    expect(printer.clientSecret).toMatch(/^acsapp_[0-9A-Za-z]{38}$/);

    const pub = await home.run([
      'apps',
      'create',
      '--name',
      'Desktop sync',
      '--redirect-uri',
      'http://[::1]:8765/cb',
      '--public',
    ]);
    expect(pub.exitCode, pub.stderr).toBe(0);
    expect(pub.stdout).toMatch(/Desktop sync \(public\)/);
    expect(pub.stdout).toMatch(/Client id\s+app_[0-9A-Za-z]{22}/);
    expect(pub.stdout + pub.stderr).not.toMatch(/secret/i);

    // Never again: not in the list, not in `show`, human or JSON.
    const list = await home.run(['apps', 'list', '--mine']);
    const shown = await home.run(['apps', 'show', 'photo printer', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toContain(printer.clientId);
    expect(list.stdout).toContain('Desktop sync');
    expect(json<App>(shown)).toMatchObject({ clientId: printer.clientId, disabled: null });
    for (const r of [list, shown]) expect(r.stdout + r.stderr).not.toContain('acsapp_');
  });

  it('bad input exits 2 with one line naming the value', async () => {
    const r = await home.run(['apps', 'create', '--name', 'Plain http', '--redirect-uri', 'http://printer.example/cb']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('"http://printer.example/cb"');
    expect(r.stderr).toContain('http is allowed only to this machine');
  });

  it("another account cannot see or delete alice's app (exit 4) nor use admin apps (exit 7)", async () => {
    const made = await home.run([
      'admin',
      'users',
      'create',
      'uma',
      '--email',
      'uma@example.com',
      '--print-token',
      '--reason',
      'new hire',
      '--yes',
      '--json',
    ]);
    expect(made.exitCode, made.stderr).toBe(0);
    const { resetToken } = json<{ resetToken: string }>(made);
    const claim = await home.run(['recover', '--username', 'uma', '--token', resetToken], {
      env: { ACCTSEC_NEW_PASSWORD: UMA_PASSWORD },
    });
    expect(claim.exitCode, claim.stderr).toBe(0);
    const signedIn = await home.run(['--profile', 'uma', 'login', '--username', 'uma'], {
      env: { ACCTSEC_PASSWORD: UMA_PASSWORD },
    });
    expect(signedIn.exitCode, signedIn.stderr).toBe(0);

    const show = await uma(['apps', 'show', printer.clientId]);
    expect(show.exitCode).toBe(4);
    const del = await uma(['apps', 'delete', printer.clientId, '--yes']);
    expect(del.exitCode).toBe(4);
    const disable = await uma(['admin', 'apps', 'disable', printer.clientId, '--reason', 'just because', '--yes']);
    expect(disable.exitCode).toBe(7);
  });

  it('admin apps disable needs --reason; disabling shows in the app; rotate-secret and delete work for the owner', async () => {
    const noReason = await home.run(['admin', 'apps', 'disable', printer.clientId, '--yes']);
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toContain('--reason');
    const off = await home.run([
      'admin',
      'apps',
      'disable',
      printer.clientId,
      '--reason',
      'phishing report #812',
      '--yes',
      '--json',
    ]);
    expect(off.exitCode, off.stderr).toBe(0);
    expect(json<App>(off).disabled).toMatchObject({ by: 'alice', reason: 'phishing report #812' });

    const rotated = await home.run(['apps', 'rotate-secret', printer.clientId, '--json']);
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    const fresh = json<App>(rotated).clientSecret;
    expect(fresh).toMatch(/^acsapp_/);
    expect(fresh).not.toBe(printer.clientSecret);

    const unconfirmed = await home.run(['apps', 'delete', 'Photo printer']);
    expect(unconfirmed.exitCode).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    const gone = await home.run(['apps', 'delete', 'Photo printer', '--yes']);
    expect(gone.exitCode, gone.stderr).toBe(0);
    const left = await home.run(['apps', 'list', '--json']);
    expect(json<App[]>(left).map((a) => a.name)).toEqual(['Desktop sync']);
  });
});
