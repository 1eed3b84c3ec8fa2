import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD, REMOTE } from './helpers.js';

describe('acctsec login', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  const login = (username: string, password: string, extra: string[] = []) =>
    home.run(['login', '--username', username, ...extra], { env: { ACCTSEC_PASSWORD: password } });

  it('an unknown user and a wrong password print the same message and exit code', async () => {
    const unknown = await login('mallory', PASSWORD);
    const wrong = await login('alice', 'wrong password, really');
    expect(unknown.exitCode).toBe(3);
    expect(wrong.exitCode).toBe(3);
    expect(unknown.stderr).toBe(wrong.stderr);
    expect(unknown.stdout).toBe(wrong.stdout);
  });

  it('six wrong passwords from six processes: the sixth, even with the right password, exits 6 and says when', async () => {
    for (let i = 0; i < 5; i++) expect((await login('alice', `wrong-${i}-password`)).exitCode).toBe(3);
    const sixth = await login('alice', PASSWORD);
    expect(sixth.exitCode).toBe(6);
    expect(sixth.stderr).toMatch(/try again in \d+ s/);
    const json6 = await login('alice', PASSWORD, ['--json']);
    expect(
      (JSON.parse(json6.stderr) as { error: { retryAfterSeconds: number } }).error.retryAfterSeconds,
    ).toBeGreaterThan(0);
  });

  it('throttles an unknown username the same way, so the throttle reveals nothing either', async () => {
    for (let i = 0; i < 5; i++) await login('mallory', `wrong-${i}-password`);
    expect((await login('mallory', PASSWORD)).exitCode).toBe(6);
  });

  it('parallel wrong guesses cannot slip past the limit', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => login('alice', `parallel-guess-${i}`)));
    const codes = results.map((r) => r.exitCode).sort();
    expect(codes.filter((c) => c === 3).length).toBeLessThanOrEqual(5);
    expect(codes.every((c) => c === 3 || c === 6)).toBe(true);
    expect((await login('alice', PASSWORD)).exitCode).toBe(6);
  });

  it('a success resets the failure count', async () => {
    for (let i = 0; i < 4; i++) await login('alice', `wrong-${i}-password`);
    expect((await login('alice', PASSWORD)).exitCode).toBe(0);
    for (let i = 0; i < 4; i++) await login('alice', `wrong-${i}-password`);
    expect((await login('alice', PASSWORD)).exitCode).toBe(0);
  });

  it('logs failures and successes in the activity log', async () => {
    await login('alice', 'wrong password, really');
    await login('alice', PASSWORD, ['--json']);
    const events = json<{ event: string }[]>(await home.run(['activity', '--json'])).map((e) => e.event);
    // The new session ended the profile's previous one, which is logged too.
    expect(events.slice(0, 3)).toEqual(['signout', 'signin.succeeded', 'signin.failed']);
  });

  it('logout ends the session; the next command exits 3', async () => {
    expect((await home.run(['logout'])).exitCode).toBe(0);
    const r = await home.run(['status']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('acctsec login');
  });

  // Local only: in remote mode the server owns the file, and --db is a local option.
  it.skipIf(REMOTE)('a store that cannot be read refuses sign-in (exit 8), without a stack trace', async () => {
    writeFileSync(home.dbPath, 'this is not a database '.repeat(400));
    const r = await login('alice', PASSWORD);
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toContain('cannot be read');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(REMOTE)('a missing database says to run init (exit 4)', async () => {
    const r = await home.run(['--db', `${home.dir}/nowhere/x.db`, 'login', '--username', 'alice'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain('acctsec init');
  });

  it('under --no-input without a username or a remembered one, names --username', async () => {
    await home.run(['logout']);
    const fresh = new Home();
    try {
      const r = await fresh.run(['--db', home.dbPath, 'login'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('--username');
    } finally {
      await fresh.remove();
    }
  });
});
