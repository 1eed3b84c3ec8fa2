import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD } from './helpers.js';

// Through a spawned `acctsec serve` (whatever the suite's mode): the server sees the client's address
// (127.0.0.1 here) and uses it without any flag.
describe('IP restriction through acctsec serve', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home(true);
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
    expect((await home.run(['login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } })).exitCode).toBe(
      0,
    );
    expect(json<{ cidr: string }[]>(await home.run(['ip', 'list', '--json'])).map((e) => e.cidr)).toEqual([
      '127.0.0.1/32',
      '2001:4860::/32',
    ]);
  });

  it('list --plain round-trips through set -f over the API, the allow-private mark included', async () => {
    expect((await home.run(['ip', 'add', '127.0.0.1', '2002::/16', '8.8.8.0/24', '--allow-private'])).exitCode).toBe(0);
    const plain = await home.run(['ip', 'list', '--plain']);
    expect(plain.stdout).toContain('127.0.0.1/32  # allow-private: is in the loopback range');
    const set = await home.run(['ip', 'set', '-f', '-'], { input: plain.stdout });
    expect(set.exitCode, set.stderr).toBe(0);
    expect(
      json<{ cidr: string; nonPublic: string | null }[]>(await home.run(['ip', 'list', '--json']))
        .map((e) => [e.cidr, e.nonPublic])
        .sort(),
    ).toEqual([
      ['127.0.0.1/32', 'is in the loopback range'],
      ['2002::/16', 'is in the 6to4 (RFC 3056) range'],
      ['8.8.8.0/24', null],
    ]);
  });

  it('a leaked token can only make the list grow: it cannot start a restriction, remove, replace, clear or --force', async () => {
    const token = json<{ token: string }>(
      await home.run(['token', 'create', '--name', 'ci', '--scope', 'ip:write', '--json']),
    ).token;
    const script = new Home();
    try {
      const asToken = (args: string[], input = '') =>
        script.run(['--remote', home.url!, 'ip', ...args], { env: { ACCTSEC_TOKEN: token }, input });
      // An empty list allows every address: its first entry would shut out all others.
      const start = await asToken(['add', '9.9.9.0/24', '--force']);
      expect(start.exitCode, start.stderr).toBe(7);
      const first = await asToken(['add', '9.9.9.0/24']);
      expect(first.exitCode).toBe(7);
      expect(first.stderr).toContain(
        'with an access token the IP list can only grow: starting a restriction (the list is empty) needs a signed-in session',
      );
      expect(json<unknown[]>(await home.run(['ip', 'list', '--json']))).toEqual([]);

      // The owner, signed in, restricts the account to where she is.
      expect((await home.run(['ip', 'add', '127.0.0.1', '--allow-private'])).exitCode).toBe(0);
      const grow = await asToken(['add', '9.9.9.0/24', '--json']);
      expect(grow.exitCode, grow.stderr).toBe(0);
      for (const args of [
        ['remove', '127.0.0.1/32'],
        ['set', '-f', '-', '--force'],
        ['clear', '--yes'],
        ['add', '8.8.8.0/24', '--force'],
      ]) {
        const r = await asToken(args, '9.9.9.0/24\n');
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(7);
        expect(r.stderr).toContain('needs a signed-in session');
      }
      expect(json<{ cidr: string }[]>(await home.run(['ip', 'list', '--json'])).map((e) => e.cidr)).toEqual([
        '127.0.0.1/32',
        '9.9.9.0/24',
      ]);
      expect((await home.run(['login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } })).exitCode).toBe(
        0,
      );
      // The owner's session still does all of it.
      expect((await home.run(['ip', 'remove', '9.9.9.0/24'])).exitCode).toBe(0);
    } finally {
      await script.remove();
    }
  });
});
