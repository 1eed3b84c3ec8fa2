import { describe, expect, it } from 'vitest';
import { AuthFailed, Forbidden, InvalidInput } from '../../src/errors.js';
import { WRONG_CREDENTIALS } from '../../src/service/credentials.js';
import { addIp, removeIp, setIp } from '../../src/service/ip-allow-list.js';
import { checkIp, isAllowed, listIp, parseAddress, parseEntry } from '../../src/service/ip-networks.js';
import { signIn } from '../../src/service/sign-in.js';
import { HOUR, PASSWORD, testContext, withAlice } from './context.js';

describe('parsing entries', () => {
  it.each([
    ['8.8.8.8', '8.8.8.8/32'],
    ['8.8.8.0/24', '8.8.8.0/24'],
    ['8.8.8.8/24', '8.8.8.0/24'],
    ['8.8.8.8/32', '8.8.8.8/32'],
    [' 1.1.1.1 ', '1.1.1.1/32'],
    ['2001:4860:4860::8888', '2001:4860:4860::8888/128'],
    ['2001:4860::1/32', '2001:4860::/32'],
    ['2001:4860:4860::8888/128', '2001:4860:4860::8888/128'],
    ['::ffff:8.8.8.8', '8.8.8.8/32'],
    ['::ffff:8.8.8.0/120', '8.8.8.0/24'],
    ['2606:4700::/32', '2606:4700::/32'],
    ['2606:4700:4700:0000:0000:0000:0000:1111', '2606:4700:4700::1111/128'],
    ['2001:4860:0:0:1:0:0:1', '2001:4860::1:0:0:1/128'],
    ['2606:4700::/032', '2606:4700::/32'],
    // With --allow-private: shorter than /96, an IPv4-mapped prefix is the IPv6 range it is, never
    // 0.0.0.0/0 (issue #17); the IPv4-compatible address is one IPv6 address however it is written.
    ['::ffff:203.0.113.9/64', '::/64', true],
    ['::ffff:203.0.113.9/95', '::fffe:0:0/95', true],
    ['::ffff:203.0.113.9/96', '0.0.0.0/0', true],
    ['::ffff:203.0.113.9/97', '128.0.0.0/1', true],
    ['::8.8.8.8', '::808:808/128', true],
    ['::808:808', '::808:808/128', true],
    ['::8.8.8.8/120', '::808:800/120', true],
  ] as [string, string, boolean?][])('%s is stored as %s', (input, cidr, allowPrivate = false) => {
    expect(parseEntry(input, { allowPrivate }).network.cidr).toBe(cidr);
  });

  it('warns about host bits in the IPv6 range an IPv4-mapped prefix shorter than /96 is', () => {
    expect(parseEntry('::ffff:203.0.113.9/64', { allowPrivate: true }).hostBitsWarning).toBe(
      '::ffff:203.0.113.9/64 has host bits set: stored as ::/64',
    );
  });

  it('warns naming both forms when host bits are set', () => {
    expect(parseEntry('8.8.8.8/24', { allowPrivate: false }).hostBitsWarning).toBe(
      '8.8.8.8/24 has host bits set: stored as 8.8.8.0/24',
    );
    expect(parseEntry('8.8.8.0/24', { allowPrivate: false }).hostBitsWarning).toBeUndefined();
  });

  it.each([
    ['999.1.1.1', 'is not an IP address or CIDR range'],
    ['1.2.3.4/33', 'the prefix /33 is beyond /32'],
    ['2001:db8::/129', 'the prefix /129 is beyond /128'],
    ['::g', 'is not an IP address or CIDR range'],
    ['', 'empty entry'],
    ['   ', 'empty entry'],
    ['1.2.3', 'is not an IP address'],
    ['0x7f.0.0.1', 'is not an IP address'],
    ['010.1.1.1', 'is not an IP address'],
    ['1.2.3.4/', 'is not an IP address'],
    ['1.2.3.4/-1', 'is not an IP address'],
    ['1.2.3.4/24/8', 'is not an IP address'],
    ['example.com', 'is not an IP address'],
    ['x'.repeat(10_000), 'too long'],
    ['1.2.3.4/' + '9'.repeat(10_000), 'too long'],
    ['::ffff:010.2.3.4', 'leading zeros are ambiguous'],
    ['1.2.3.04/24', 'leading zeros are ambiguous'],
    ['fe80::1%eth0', 'a zone id (%eth0) names an interface of one host'],
    ['2606:4700:4700::1111%eth0', 'a zone id (%eth0)'],
    ['fe80::1%eth0/64', 'a zone id'],
    ['1.2.3.0/255.255.255.0', 'is not an IP address or CIDR range'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'is not an IP address'],
    ['12345::', 'is not an IP address'],
    ['1::2::3', 'is not an IP address'],
  ])('refuses %j (%s)', (input, message) => {
    expect(() => parseEntry(input, { allowPrivate: false, where: 'line 7 of allow.txt' })).toThrow(message);
    try {
      parseEntry(input, { allowPrivate: false, where: 'line 7 of allow.txt' });
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidInput);
      expect((err as Error).message).toContain('line 7 of allow.txt');
      expect((err as Error).message.length).toBeLessThan(200);
    }
  });

  it.each([
    ['10.1.2.3', 'private (RFC 1918)'],
    ['172.16.0.0/12', 'private (RFC 1918)'],
    ['192.168.1.0/24', 'private (RFC 1918)'],
    ['127.0.0.1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.0.0.0/0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['203.0.113.7', 'reserved or documentation'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved or documentation'],
    ['96.0.0.0/4', 'carrier-grade NAT'],
    ['::ffff:10.0.0.1', 'private'],
    ['2002::/16', 'is in the 6to4 (RFC 3056) range'],
    ['2002:c000:204::1', 'is in the 6to4'],
    ['2001::1', 'is in the Teredo (RFC 4380) range'],
    ['64:ff9b::8.8.8.8', 'IPv4/IPv6 translation'],
    ['::8.8.8.8', 'is in the IPv4-compatible (deprecated, RFC 4291) range'],
    ['::808:808', 'is in the IPv4-compatible (deprecated, RFC 4291) range'],
    ['::ffff:203.0.113.9/64', 'overlaps the unspecified range'],
    ['::ffff:0:0/95', 'overlaps the IPv4-mapped (RFC 4291) range'],
    ['2000::/3', 'overlaps the 6to4 (RFC 3056) range'],
    ['0.0.0.0/0', 'overlaps the unspecified range'],
    ['172.0.0.0/8', 'overlaps the private (RFC 1918) range'],
    ['10.1.2.3', 'is in the private (RFC 1918) range'],
  ])('refuses the non-public %s naming its range (%s)', (input, range) => {
    expect(() => parseEntry(input, { allowPrivate: false })).toThrow(range);
    expect(() => parseEntry(input, { allowPrivate: true })).not.toThrow();
  });

  it('parses client addresses strictly, and unmaps IPv4-mapped ones', () => {
    expect(parseAddress('::ffff:1.2.3.4', 'ip').toString()).toBe('1.2.3.4');
    expect(parseAddress('::8.8.8.8', 'ip').toString()).toBe('::808:808');
    expect(() => parseAddress('fe80::1%eth0', 'ip')).toThrow('"fe80::1%eth0" is not an IP address: a zone id (%eth0)');
    expect(() => parseAddress('::ffff:010.2.3.4', 'ip')).toThrow('leading zeros');
    expect(() => parseAddress('1.2.3.4/24', 'ip')).toThrow('is not an IP address');
    expect(() => parseAddress('999.1.1.1', 'ip')).toThrow(InvalidInput);
  });
});

describe('matching', () => {
  async function withList(entries: string[]) {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await setIp(
      ctx,
      auth,
      entries.map((text) => ({ text })),
      { allowPrivate: true, force: true },
      undefined,
      {},
    );
    return { ctx, auth };
  }

  it.each([
    [[], '8.8.8.8', true],
    [['8.8.8.0/24'], '8.8.8.0', true],
    [['8.8.8.0/24'], '8.8.8.255', true],
    [['8.8.8.0/24'], '8.8.9.0', false],
    [['8.8.8.0/24'], '8.8.7.255', false],
    [['8.8.8.8/32'], '8.8.8.8', true],
    [['8.8.8.8/32'], '8.8.8.9', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['0.0.0.0/0'], '2001:db8::1', false],
    [['::/0'], '2001:db8::1', true],
    [['8.8.8.0/24'], '::ffff:8.8.8.8', true],
    [['::ffff:8.8.8.0/120'], '8.8.8.8', true],
    [['2001:4860::/32'], '2001:4860:ffff::1', true],
    [['2001:4860::/32'], '2001:4861::1', false],
    [['2001:4860:4860::8888/128'], '2001:4860:4860::8888', true],
    [['2001:4860:4860::8888/128'], '2001:4860:4860::8889', false],
    [['8.8.8.0/24'], '2001:4860::1', false],
    // An address gets one answer however it is written (issue #17).
    [['8.8.8.8'], '::8.8.8.8', false],
    [['8.8.8.8'], '::808:808', false],
    [['::808:808'], '::8.8.8.8', true],
    [['::8.8.8.8'], '8.8.8.8', false],
    // ::ffff:203.0.113.9/64 is ::/64, which allows no IPv4 address (it used to store 0.0.0.0/0).
    [['::ffff:203.0.113.9/64'], '8.8.8.8', false],
    [['::ffff:203.0.113.9/64'], '::ffff:8.8.8.8', false],
    [['::ffff:203.0.113.9/64'], '::8.8.8.8', true],
  ] as [string[], string, boolean][])('list %j, address %s: allowed %s', async (list, address, allowed) => {
    const { ctx, auth } = await withList(list);
    expect(isAllowed(ctx, auth.account, address)).toBe(allowed);
    expect(checkIp(ctx, auth.account, address).allowed).toBe(allowed);
  });
});

describe('changing the list', () => {
  it('a batch with one bad entry changes nothing and names the entry and its line', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const err = await addIp(
      ctx,
      auth,
      [
        { text: '8.8.8.0/24', where: 'line 1 of f' },
        { text: '999.1.1.1', where: 'line 2 of f' },
      ],
      { allowPrivate: false, force: false },
      undefined,
      {},
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('"999.1.1.1" (line 2 of f) is not an IP address or CIDR range');
    expect(checkIp(ctx, auth.account, '1.1.1.1').restricted).toBe(false);
  });

  it('reports duplicates and covered entries instead of storing them twice; a wider entry replaces narrower ones', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const opts = { allowPrivate: false, force: false };
    await addIp(ctx, auth, [{ text: '8.8.8.8' }, { text: '1.1.1.1' }], opts, undefined, {});
    const change = await addIp(
      ctx,
      auth,
      [{ text: '1.1.1.1/32' }, { text: '8.8.8.0/24' }, { text: '8.8.8.9' }],
      opts,
      undefined,
      {},
    );
    expect(change.added).toEqual(['8.8.8.0/24']);
    expect(change.skipped).toEqual([
      { cidr: '1.1.1.1/32', reason: 'already in the list' },
      { cidr: '8.8.8.8/32', reason: 'replaced by the wider 8.8.8.0/24' },
      { cidr: '8.8.8.9/32', reason: 'already covered by 8.8.8.0/24' },
    ]);
    expect(change.entries.map((e) => e.cidr).sort()).toEqual(['1.1.1.1/32', '8.8.8.0/24']);
    expect(change.warnings.join()).toContain('no IPv6');
  });

  it('an entry marked allowPrivate (a `# allow-private` line) needs no --allow-private; the list names each non-public entry', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const opts = { allowPrivate: false, force: true };
    await expect(
      setIp(ctx, auth, [{ text: '8.8.8.0/24' }, { text: '10.0.0.0/8' }], opts, undefined, {}),
    ).rejects.toThrow('is in the private (RFC 1918) range');
    await expect(
      setIp(ctx, auth, [{ text: '8.8.8.0/24', allowPrivate: true }, { text: '2002::/16' }], opts, undefined, {}),
    ).rejects.toThrow('6to4');
    await setIp(
      ctx,
      auth,
      [{ text: '8.8.8.0/24' }, { text: '10.0.0.0/8', allowPrivate: true }, { text: '2002::/16', allowPrivate: true }],
      opts,
      undefined,
      {},
    );
    expect(
      listIp(ctx, auth.account)
        .map((e) => [e.cidr, e.nonPublic])
        .sort(),
    ).toEqual([
      ['10.0.0.0/8', 'is in the private (RFC 1918) range'],
      ['2002::/16', 'is in the 6to4 (RFC 3056) range'],
      ['8.8.8.0/24', null],
    ]);
  });

  it('the lock-out guard refuses a change that excludes the current address, unless forced', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const add = (force: boolean, origin = {}) =>
      addIp(
        ctx,
        auth,
        [{ text: '8.8.8.0/24' }],
        { allowPrivate: false, force, currentIp: '9.9.9.9' },
        undefined,
        origin,
      );
    await expect(add(false)).rejects.toBeInstanceOf(Forbidden);
    await expect(add(false, { ip: '9.9.9.9' })).rejects.toBeInstanceOf(Forbidden);
    await expect(
      addIp(
        ctx,
        auth,
        [{ text: '8.8.8.0/24' }],
        { allowPrivate: false, force: false, currentIp: '8.8.8.7' },
        undefined,
        {},
      ),
    ).resolves.toBeDefined();
    await expect(
      removeIp(
        ctx,
        auth,
        [{ text: '8.8.8.0/24' }],
        { allowPrivate: false, force: false, currentIp: '9.9.9.9' },
        undefined,
        {},
      ),
    ).resolves.toBeDefined();
    expect((await add(true)).added).toEqual(['8.8.8.0/24']);
  });

  it('changes need identity confirmation outside the 10-minute window', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    ctx.clock.advance(HOUR);
    await expect(
      addIp(ctx, auth, [{ text: '8.8.8.8' }], { allowPrivate: false, force: false }, undefined, {}),
    ).rejects.toThrow(/confirm your identity/);
    await addIp(ctx, auth, [{ text: '8.8.8.8' }], { allowPrivate: false, force: false }, { password: PASSWORD }, {});
  });

  it('sign-in from outside a non-empty list is refused as a wrong password (exit 3) and logged; local sign-ins have no address', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    await addIp(ctx, auth, [{ text: '8.8.8.0/24' }], { allowPrivate: false, force: true }, undefined, {});
    await expect(signIn(ctx, { username: 'alice', password: PASSWORD }, { ip: '9.9.9.9' })).rejects.toThrow(
      new AuthFailed(WRONG_CREDENTIALS),
    );
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, { ip: '8.8.8.8' })).status).toBe('signed-in');
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
    const refused = ctx.db.prepare("SELECT detail FROM activity WHERE event = 'signin.refused'").all();
    expect(refused).toEqual([{ detail: '{"reason":"ip"}' }]);
  });
});
