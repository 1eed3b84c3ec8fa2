import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, REMOTE } from './helpers.js';

// Local mode: here the client's address comes from --current-ip. In remote mode the server knows it
// (127.0.0.1 in tests) and applies the list to every request: see ip-remote.test.ts.
describe.skipIf(REMOTE)('acctsec ip', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  const list = async () => json<{ cidr: string }[]>(await home.run(['ip', 'list', '--json'])).map((e) => e.cidr);

  it('a file with one bad line changes nothing, and the error names the entry and its line', async () => {
    await home.run(['ip', 'add', '1.1.1.1']);
    const file = join(home.dir, 'allow.txt');
    writeFileSync(file, '# office\n8.8.8.0/24\n\n2001:4860::/32  # v6 too\n1.2.3.4/33\n');
    const r = await home.run(['ip', 'add', '-f', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`"1.2.3.4/33" (line 5 of ${file})`);
    expect(await list()).toEqual(['1.1.1.1/32']);
    const set = await home.run(['ip', 'set', '-f', file]);
    expect(set.exitCode).toBe(2);
    expect(await list()).toEqual(['1.1.1.1/32']);
  });

  it('adds from arguments and files, warns about host bits and a missing family, refuses private ranges', async () => {
    const r = await home.run(['ip', 'add', '8.8.8.8/24', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('8.8.8.8/24 has host bits set: stored as 8.8.8.0/24');
    expect(r.stderr).toContain('no IPv6');
    expect(json(r)).toMatchObject({ added: ['8.8.8.0/24'] });
    const priv = await home.run(['ip', 'add', '192.168.1.0/24']);
    expect(priv.exitCode).toBe(2);
    expect(priv.stderr).toContain('private (RFC 1918)');
    expect((await home.run(['ip', 'add', '192.168.1.0/24', '--allow-private'])).exitCode).toBe(0);
  });

  it('the lock-out guard refuses without --force and allows with it', async () => {
    const refused = await home.run(['ip', 'add', '8.8.8.0/24', '--current-ip', '9.9.9.9']);
    expect(refused.exitCode).toBe(7);
    expect(refused.stderr).toContain('lock out your current address 9.9.9.9');
    expect(await list()).toEqual([]);
    const forced = await home.run(['ip', 'add', '8.8.8.0/24', '--current-ip', '9.9.9.9', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await list()).toEqual(['8.8.8.0/24']);
    expect((await home.run(['ip', 'add', '1.1.1.1', '--current-ip', '8.8.8.1'])).exitCode).toBe(0);
  });

  it('check exits 0 when allowed and 7 when not, IPv4-mapped addresses included', async () => {
    expect((await home.run(['ip', 'check', '9.9.9.9'])).exitCode).toBe(0);
    await home.run(['ip', 'add', '8.8.8.0/24', '2001:4860::/32']);
    expect((await home.run(['ip', 'check', '8.8.8.200'])).exitCode).toBe(0);
    expect((await home.run(['ip', 'check', '::ffff:8.8.8.200'])).exitCode).toBe(0);
    expect((await home.run(['ip', 'check', '2001:4860::53'])).exitCode).toBe(0);
    const no = await home.run(['ip', 'check', '9.9.9.9', '--json']);
    expect(no.exitCode).toBe(7);
    expect(json(no)).toMatchObject({ address: '9.9.9.9', allowed: false, restricted: true });
    expect((await home.run(['ip', 'check', 'not-an-ip'])).exitCode).toBe(2);
  });

  it('list --plain round-trips through set -f, atomically replacing the list', async () => {
    await home.run(['ip', 'add', '8.8.8.0/24', '1.1.1.1', '2606:4700::/32']);
    const plain = await home.run(['ip', 'list', '--plain']);
    expect(plain.stdout.trim().split('\n').sort()).toEqual(['1.1.1.1/32', '2606:4700::/32', '8.8.8.0/24']);
    await home.run(['ip', 'clear', '--yes']);
    expect(await list()).toEqual([]);
    const set = await home.run(['ip', 'set', '-f', '-'], { input: plain.stdout });
    expect(set.exitCode, set.stderr).toBe(0);
    expect((await list()).sort()).toEqual(['1.1.1.1/32', '2606:4700::/32', '8.8.8.0/24']);
  });

  it('remove needs every entry to exist; clear needs --yes without a terminal', async () => {
    await home.run(['ip', 'add', '8.8.8.0/24', '1.1.1.1']);
    const missing = await home.run(['ip', 'remove', '1.1.1.1', '9.9.9.9']);
    expect(missing.exitCode).toBe(4);
    expect(await list()).toHaveLength(2);
    expect((await home.run(['ip', 'remove', '1.1.1.1'])).exitCode).toBe(0);
    expect(await list()).toEqual(['8.8.8.0/24']);
    const clear = await home.run(['ip', 'clear']);
    expect(clear.exitCode).toBe(2);
    expect(clear.stderr).toContain('--yes');
    expect((await home.run(['ip', 'clear', '--yes'])).exitCode).toBe(0);
    expect(await list()).toEqual([]);
  });

  it('changes are in the activity log', async () => {
    await home.run(['ip', 'add', '8.8.8.0/24']);
    await home.run(['ip', 'remove', '8.8.8.0/24']);
    const events = json<{ event: string }[]>(await home.run(['activity', '--json'])).map((e) => e.event);
    expect(events).toContain('ip.added');
    expect(events).toContain('ip.removed');
  });
});
