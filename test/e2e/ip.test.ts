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

  it('list --plain marks the entries that needed --allow-private, so set -f takes them back without the flag', async () => {
    const add = await home.run([
      'ip',
      'add',
      '8.8.8.0/24',
      '10.0.0.0/8',
      '2002::/16',
      '2606:4700::/32',
      '--allow-private',
    ]);
    expect(add.exitCode, add.stderr).toBe(0);
    const plain = await home.run(['ip', 'list', '--plain']);
    expect(plain.stdout.trim().split('\n').sort()).toEqual([
      '10.0.0.0/8  # allow-private: is in the private (RFC 1918) range',
      '2002::/16  # allow-private: is in the 6to4 (RFC 3056) range',
      '2606:4700::/32',
      '8.8.8.0/24',
    ]);
    expect((await home.run(['ip', 'clear', '--yes'])).exitCode).toBe(0);
    const set = await home.run(['ip', 'set', '-f', '-'], { input: plain.stdout });
    expect(set.exitCode, set.stderr).toBe(0);
    expect((await list()).sort()).toEqual(['10.0.0.0/8', '2002::/16', '2606:4700::/32', '8.8.8.0/24']);
    // The mark is for its own line only: an unmarked private entry is still refused.
    const unmarked = await home.run(['ip', 'set', '-f', '-'], { input: `${plain.stdout}\n192.168.0.0/16\n` });
    expect(unmarked.exitCode).toBe(2);
    expect(unmarked.stderr).toContain('"192.168.0.0/16" (line 5 of stdin) is in the private (RFC 1918) range');
  });

  it('set -f with an empty file lifts the restriction only with the confirmation clear asks for', async () => {
    await home.run(['ip', 'add', '8.8.8.0/24']);
    const emptyFile = { input: '# nothing left\n\n' };
    const refused = await home.run(['ip', 'set', '-f', '-'], emptyFile);
    expect([refused.exitCode, refused.stderr.trim()]).toEqual([
      2,
      'acctsec: ip set with no entries in stdin removes the IP restriction: confirm with --yes',
    ]);
    expect(await list()).toEqual(['8.8.8.0/24']);
    const confirmed = await home.run(['ip', 'set', '-f', '-', '--yes'], emptyFile);
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(await list()).toEqual([]);
  });

  it('reads addresses as Python does: a short IPv4-mapped prefix is an IPv6 range, zone ids and leading zeros are refused', async () => {
    const mapped = await home.run(['ip', 'add', '::ffff:203.0.113.9/64', '--allow-private', '--json']);
    expect(mapped.exitCode, mapped.stderr).toBe(0);
    expect(mapped.stderr).toContain('::ffff:203.0.113.9/64 has host bits set: stored as ::/64');
    expect(await list()).toEqual(['::/64']);
    expect((await home.run(['ip', 'check', '8.8.8.8'])).exitCode).toBe(7);
    expect((await home.run(['ip', 'check', '::8.8.8.8'])).exitCode).toBe(0);
    for (const [bad, why] of [
      ['fe80::1%eth0', 'a zone id (%eth0)'],
      ['::ffff:010.2.3.4', 'leading zeros'],
      ['2606:4700::/32%eth0', 'is not an IP address or CIDR range'],
    ]) {
      const r = await home.run(['ip', 'add', '8.8.8.8', bad!, '--allow-private']);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toContain(`"${bad}" (argument 2) is not an IP address or CIDR range`);
      expect(r.stderr).toContain(why);
    }
    const six = await home.run(['ip', 'add', '2002::/16']);
    expect(six.exitCode).toBe(2);
    expect(six.stderr).toContain('is in the 6to4 (RFC 3056) range');
    expect((await home.run(['ip', 'add', '2000::/3'])).stderr).toContain(
      '"2000::/3" (argument 1) overlaps the 6to4 (RFC 3056) range',
    );
    expect(await list()).toEqual(['::/64']);
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
