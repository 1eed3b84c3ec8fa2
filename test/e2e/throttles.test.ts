import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awayFromStepEdge, codeAt, wrongCode } from '../rfc6238.js';
import { Home, json, PASSWORD } from './helpers.js';

// Issue #15 §1: throttles an outsider cannot fill, and support's way back (`admin unthrottle`).
// Runs against a local database and, in the remote project, through a real `acctsec serve`.

describe('throttles per flow (issue #15)', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  async function enrollTotp(): Promise<string> {
    await awayFromStepEdge();
    const begin = await home.run(['mfa', 'totp', 'enable', '--no-input', '--json'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(begin.exitCode, begin.stderr).toBe(0);
    const { secret } = json<{ secret: string }>(begin);
    const confirm = await home.run(['mfa', 'totp', 'confirm', '--code', codeAt(secret, -1), '--json']);
    expect(confirm.exitCode, confirm.stderr).toBe(0);
    return secret;
  }

  const loginWithCode = (code: string) =>
    home.run(['login', '--username', 'alice', '--method', 'totp', '--code', code, '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });

  it("six wrong `recover --code` calls (no password) do not stop alice's sign-in with a valid authenticator code", async () => {
    const secret = await enrollTotp();
    const recover = () =>
      home.run(['recover', '--username', 'alice', '--code', '000000', '--no-input'], {
        env: { ACCTSEC_NEW_PASSWORD: 'an outsider tries this one' },
      });
    for (let i = 0; i < 5; i++) expect((await recover()).exitCode).toBe(3);
    expect((await recover()).exitCode).toBe(6); // recovery's own throttle is full
    await awayFromStepEdge();
    const r = await loginWithCode(codeAt(secret, 0));
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it("wrong codes at identity confirmation fill only that session's throttle: a new sign-in with a valid code works", async () => {
    const secret = await enrollTotp();
    for (let i = 0; i < 5; i++) {
      const view = await home.run(['recovery-codes', 'view', '--code', wrongCode(secret), '--no-input']);
      expect(view.exitCode, view.stderr).toBe(3);
    }
    expect((await home.run(['recovery-codes', 'view', '--code', codeAt(secret, 0), '--no-input'])).exitCode).toBe(6);
    await awayFromStepEdge();
    const r = await loginWithCode(codeAt(secret, 0));
    expect(r.exitCode, r.stderr).toBe(0);
    // the new session's confirmation throttle is its own, and empty
    await awayFromStepEdge();
    expect(
      (await home.run(['recovery-codes', 'view', '--code', codeAt(secret, 1), '--no-input', '--json'])).exitCode,
    ).toBe(0);
  });

  it('12 parallel sign-ins with the right password all succeed', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        home.run(['--profile', `p${i}`, 'login', '--username', 'alice', '--no-input'], {
          env: { ACCTSEC_PASSWORD: PASSWORD },
        }),
      ),
    );
    expect(results.map((r) => r.exitCode)).toEqual(Array(12).fill(0));
  });
});

describe('acctsec admin unthrottle (issue #15)', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init(); // alice, the first admin
  });
  afterEach(() => home.remove());

  const login = (user: string, password: string) =>
    home.run(['--profile', user, 'login', '--username', user, '--no-input'], { env: { ACCTSEC_PASSWORD: password } });

  async function claim(user: string, role: string, password: string): Promise<void> {
    const r = await home.run([
      'admin',
      'users',
      'create',
      user,
      '--email',
      `${user}@example.com`,
      '--role',
      role,
      '--print-token',
      '--reason',
      'new hire',
      '--yes',
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const { resetToken } = json<{ resetToken: string }>(r);
    expect(
      (
        await home.run(['recover', '--username', user, '--token', resetToken], {
          env: { ACCTSEC_NEW_PASSWORD: password },
        })
      ).exitCode,
    ).toBe(0);
  }

  it('clears a lock-out by wrong passwords: dry run first, audited, owner notified; support may not act on an admin', async () => {
    await claim('sam', 'support', 'support staff passphrase');
    await claim('uma', 'user', 'user account passphrase');
    expect((await login('sam', 'support staff passphrase')).exitCode).toBe(0);
    for (let i = 0; i < 5; i++) {
      const wrong = await login('uma', `someone guessing ${i}`);
      expect(wrong.exitCode, wrong.stderr).toBe(3);
    }
    expect((await login('uma', 'user account passphrase')).exitCode).toBe(6);

    const noReason = await home.run(['--profile', 'sam', 'admin', 'unthrottle', 'uma', '--yes']);
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toContain('--reason');
    const dry = await home.run([
      '--profile',
      'sam',
      'admin',
      'unthrottle',
      'uma',
      '--reason',
      'locked out by a guesser',
      '--dry-run',
      '--json',
    ]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(json(dry)).toMatchObject({ action: 'unthrottle', target: 'uma', dryRun: true });
    expect((await login('uma', 'user account passphrase')).exitCode).toBe(6); // the dry run changed nothing

    const ok = await home.run([
      '--profile',
      'sam',
      'admin',
      'unthrottle',
      'uma',
      '--reason',
      'locked out by a guesser',
      '--yes',
    ]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect((await login('uma', 'user account passphrase')).exitCode).toBe(0);
    const again = await home.run(['--profile', 'sam', 'admin', 'unthrottle', 'uma', '--reason', 'once more', '--yes']);
    expect(again.exitCode).toBe(5);

    const onAdmin = await home.run([
      '--profile',
      'sam',
      'admin',
      'unthrottle',
      'alice',
      '--reason',
      'trying my luck',
      '--yes',
    ]);
    expect(onAdmin.exitCode).toBe(7);

    const audit = json<{ action: string; target: string; outcome: string }[]>(
      await home.run(['admin', 'audit', '--user', 'uma', '--json']),
    );
    expect(audit.filter((e) => e.action === 'unthrottle').map((e) => e.outcome)).toEqual(['ok']);
    const outbox = join(home.dir, '.local/state/acctsec/outbox');
    const toUma = readdirSync(outbox)
      .map((f) => readFileSync(join(outbox, f), 'utf8'))
      .filter((m) => /^To: uma@example.com$/m.test(m));
    expect(toUma.some((m) => /cleared by support \(sam\)/.test(m))).toBe(true);
  });
});
