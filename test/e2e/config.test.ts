import { readFileSync, statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD } from './helpers.js';

describe('acctsec config', () => {
  let home: Home;
  beforeEach(() => {
    home = new Home();
  });
  afterEach(() => home.remove());

  it('set, get, list and path, per profile, in a 0600 file', async () => {
    expect((await home.run(['config', 'get', 'policy.passwordMinLength'])).stdout.trim()).toBe('12');
    expect((await home.run(['config', 'set', 'policy.passwordMinLength', '16'])).exitCode).toBe(0);
    expect((await home.run(['config', 'get', 'policy.passwordMinLength'])).stdout.trim()).toBe('16');
    expect((await home.run(['--profile', 'other', 'config', 'get', 'policy.passwordMinLength'])).stdout.trim()).toBe(
      '12',
    );
    const list = json<{ settings: { key: string; source: string }[] }>(await home.run(['config', 'list', '--json']));
    expect(list.settings.find((s) => s.key === 'policy.passwordMinLength')?.source).toBe('profile');
    const path = (await home.run(['config', 'path'])).stdout.trim();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await home.run(['config', 'unset', 'policy.passwordMinLength'])).exitCode).toBe(0);
    expect((await home.run(['config', 'get', 'policy.passwordMinLength'])).stdout.trim()).toBe('12');
  });

  it('a raised minimum length applies to new passwords', async () => {
    await home.run(['config', 'set', 'policy.passwordMinLength', '30']);
    const r = await home.run(['init', '--username', 'alice', '--email', 'a@example.com'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('at least 30');
  });

  it.each([
    ['no.such.key', '1', 'unknown config key'],
    ['policy.passwordMinLength', '8', 'from 12 to 256'],
    ['policy.sessionIdleHours', 'soon', '"soon"'],
    ['remote', 'ftp://x', 'http:// or https://'],
  ])('refuses %s=%s with exit 2', async (key, value, message) => {
    const r = await home.run(['config', 'set', key, value]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('never prints the session token, though the profile keeps it', async () => {
    await home.init();
    const path = (await home.run(['config', 'path'])).stdout.trim();
    const token = (JSON.parse(readFileSync(path, 'utf8')) as { profiles: { default: { session: { token: string } } } })
      .profiles.default.session.token;
    expect(token).toMatch(/^acs_ses_/);
    const list = await home.run(['config', 'list', '--json']);
    expect(list.stdout).not.toContain(token);
  });
});
