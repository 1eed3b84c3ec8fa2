import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD, REMOTE } from './helpers.js';

// Remote mode only: the server sees the client's address (127.0.0.1 here) and uses it without any flag.
describe.runIf(REMOTE)('IP restriction through acctsec serve', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  it('a list that excludes 127.0.0.1 is refused without --force; with it, the next sign-in from 127.0.0.1 fails as a wrong password would', async () => {
    const refused = await home.run(['ip', 'add', '8.8.8.0/24']);
    expect(refused.exitCode).toBe(7);
    expect(refused.stderr).toContain('lock out your current address 127.0.0.1');
    const forced = await home.run(['ip', 'add', '8.8.8.0/24', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const login = await home.run(['login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    // issue #15: exit 3 and the wrong-password message, so the right password is not confirmed.
    expect(login.exitCode).toBe(3);
    expect(login.stderr).toContain('wrong username or password');
    // and an existing session is refused from there too
    expect((await home.run(['status'])).exitCode).toBe(7);
  });

  it('a list that includes the client address works, and check sees it', async () => {
    const r = await home.run(['ip', 'add', '127.0.0.1', '2001:4860::/32', '--allow-private', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await home.run(['ip', 'check', '127.0.0.1'])).exitCode).toBe(0);
    expect((await home.run(['ip', 'check', '9.9.9.9'])).exitCode).toBe(7);
    expect((await home.run(['login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } })).exitCode).toBe(0);
    expect(json<{ cidr: string }[]>(await home.run(['ip', 'list', '--json'])).map((e) => e.cidr)).toEqual(['127.0.0.1/32', '2001:4860::/32']);
  });
});
