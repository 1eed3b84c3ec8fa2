import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD } from './helpers.js';

describe('two processes on one database', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  it('concurrent sign-ins and changes all finish cleanly: no "database is locked" reaches the user', async () => {
    // Four sign-ins (each writes a session, an activity row and its throttle row), status calls (each may
    // write last_seen) and reads, all at once. Four, not more: an attempt counts against the 5-failure
    // limit until it succeeds (see README, "Security design"), so more than five parallel sign-ins of one
    // user are throttled by design.
    const logins = Array.from({ length: 4 }, (_, i) =>
      home.run(['--profile', `p${i}`, 'login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } }),
    );
    const others = Array.from({ length: 4 }, (_, i) => home.run(i % 2 ? ['activity', '--json'] : ['status', '--json']));
    const results = await Promise.all([...logins, ...others]);
    for (const r of results) {
      expect(r.stderr).not.toMatch(/locked|busy/i);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const sessions = json<unknown[]>(await home.run(['sessions', 'list', '--json']));
    expect(sessions).toHaveLength(5);
  });

  it('two password changes at once both finish cleanly (0, or 3 once the other changed it)', async () => {
    const env = (next: string) => ({ env: { ACCTSEC_PASSWORD: PASSWORD, ACCTSEC_NEW_PASSWORD: next } });
    const [a, b] = await Promise.all([
      home.run(['password', 'change'], env('first new passphrase')),
      home.run(['--profile', 'default', 'password', 'change'], env('second new passphrase')),
    ]);
    for (const r of [a, b]) expect(r.stderr).not.toMatch(/locked|busy|\n\s+at /i);
    const codes = [a.exitCode, b.exitCode].sort();
    // Both may succeed (each verified the same current password before either wrote); neither may crash.
    expect(codes.every((c) => c === 0 || c === 3)).toBe(true);
  });

  it('waits for another process\'s write transaction instead of failing with "database is locked"', async () => {
    const other = new Database(home.dbPath);
    other.exec('BEGIN IMMEDIATE');
    const pending = home.run(['--profile', 'late', 'login', '--username', 'alice'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    other.exec('COMMIT');
    other.close();
    const r = await pending;
    expect(r.stderr).not.toMatch(/locked|busy/i);
    expect(r.exitCode, r.stderr).toBe(0);
  });
});
