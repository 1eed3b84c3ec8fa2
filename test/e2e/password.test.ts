import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD } from './helpers.js';

const NEW = 'a much better passphrase';

describe('acctsec password change', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  const change = (current: string, next: string) =>
    home.run(['password', 'change'], { env: { ACCTSEC_PASSWORD: current, ACCTSEC_NEW_PASSWORD: next } });
  const login = (password: string, profile = 'default') =>
    home.run(['--profile', profile, 'login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: password } });

  it('a wrong current password exits 3 and changes nothing', async () => {
    const r = await change('not the password at all', NEW);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('current password is wrong');
    expect((await login(PASSWORD)).exitCode).toBe(0);
    expect((await login(NEW)).exitCode).toBe(3);
  });

  it('an 11-character new password exits 2 naming the rule', async () => {
    const r = await change(PASSWORD, 'elevenchars');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('has 11 characters; it needs at least 12');
    expect((await login(PASSWORD)).exitCode).toBe(0);
  });

  it.each(['password1234', 'qwertyuiop123', '123456789012', 'passwordpassword'])(
    'refuses the common password %s with exit 2',
    async (common) => {
      const r = await change(PASSWORD, common);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('common leaked passwords');
    },
  );

  it('refuses a password containing the username, and the current password', async () => {
    expect((await change(PASSWORD, 'alice-and-her-cat')).stderr).toContain('contains the username');
    const same = await change(PASSWORD, PASSWORD);
    expect(same.exitCode).toBe(2);
    expect(same.stderr).toContain('is the current password');
  });

  it('a good change exits 0, and a session opened in another profile is then refused (exit 3)', async () => {
    expect((await login(PASSWORD, 'other')).exitCode).toBe(0);
    expect((await home.run(['--profile', 'other', 'status'])).exitCode).toBe(0);

    const r = await change(PASSWORD, NEW);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 other session signed out');

    const other = await home.run(['--profile', 'other', 'status']);
    expect(other.exitCode).toBe(3);
    expect(other.stderr).toContain('acctsec --profile other login');
    // The session that made the change stays signed in.
    expect((await home.run(['status'])).exitCode).toBe(0);
    expect((await login(PASSWORD)).exitCode).toBe(3);
    expect((await login(NEW)).exitCode).toBe(0);
  });

  it('takes the current and new passwords from stdin lines 1 and 2, and refuses a mismatched repeat on line 3', async () => {
    const bad = await home.run(['password', 'change', '--password-stdin'], { input: `${PASSWORD}\n${NEW}\n${NEW}x\n` });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('does not match');
    const r = await home.run(['password', 'change', '--password-stdin', '--json'], {
      input: `${PASSWORD}\n${NEW}\n${NEW}\n`,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r);
    expect(out.revokedSessions).toBe(0);
    expect(typeof (out.strength as { score: number }).score).toBe('number');
  });

  it('tells a password-only account that NIST asks for 15 characters', async () => {
    const r = await change(PASSWORD, 'tangerine-owl7');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('15 characters');
  });

  it('records the change in the activity log and shows the new date in status', async () => {
    const before = json(await home.run(['status', '--json'])).passwordChangedAt as string;
    await change(PASSWORD, NEW);
    const after = json(await home.run(['status', '--json'])).passwordChangedAt as string;
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
    const log = json<{ event: string }[]>(await home.run(['activity', '--json']));
    expect(log[0]?.event).toBe('password.changed');
    expect(JSON.stringify(log)).not.toContain(NEW);
  });
});
