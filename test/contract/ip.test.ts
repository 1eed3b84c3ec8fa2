import { expect } from 'vitest';
import type { IpChangeOptions, IpEntryInput } from '../../src/views.js';
import { contract, failure, initAlice, MINUTE, PASSWORD, type Case } from './harness.js';

// The IP allow-list (SPEC §6). Over HTTP the server knows the client's address (127.0.0.1 here) and
// applies the list to every request; locally it is told with `currentIp`, as `--current-ip` does. So
// every change names 127.0.0.1 as the current address, and lists keep it (it is loopback: allowPrivate).

const HERE: IpChangeOptions = { allowPrivate: false, force: false, currentIp: '127.0.0.1' };
const LOOPBACK: IpEntryInput = { text: '127.0.0.1', allowPrivate: true };
const e = (...texts: string[]): IpEntryInput[] => texts.map((text, i) => ({ text, where: `argument ${i + 1}` }));

const cases: Record<string, Case> = {
  'add, list, check, remove and clear': async (world, rec) => {
    const { me } = await initAlice(world);
    expect(rec(await me.listIp())).toEqual([]);
    const open = rec(await me.checkIp('9.9.9.9'));
    expect(open).toEqual({ address: '9.9.9.9', allowed: true, matchedBy: null, restricted: false });
    const added = rec(await me.addIp([LOOPBACK, ...e('8.8.8.8/24', '2606:4700::/32')], HERE));
    expect(added.added).toEqual(['127.0.0.1/32', '8.8.8.0/24', '2606:4700::/32']);
    expect(added.warnings.join('\n')).toContain('8.8.8.8/24 has host bits set: stored as 8.8.8.0/24');
    const list = rec(await me.listIp());
    expect(list.map((x) => x.cidr).sort()).toEqual(['127.0.0.1/32', '2606:4700::/32', '8.8.8.0/24']);
    expect(list.find((x) => x.cidr === '127.0.0.1/32')?.nonPublic).toContain('loopback');
    expect(rec(await me.checkIp('8.8.8.200'))).toMatchObject({
      allowed: true,
      matchedBy: '8.8.8.0/24',
      restricted: true,
    });
    expect(rec(await me.checkIp('::ffff:8.8.8.200'))).toMatchObject({ allowed: true });
    expect(rec(await me.checkIp('2606:4700::53'))).toMatchObject({ allowed: true });
    expect(rec(await me.checkIp('9.9.9.9'))).toEqual({
      address: '9.9.9.9',
      allowed: false,
      matchedBy: null,
      restricted: true,
    });
    const notIp = rec(await failure(me.checkIp('not-an-ip')));
    expect(notIp).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    // Adding what is there is skipped, not an error.
    const dup = rec(await me.addIp(e('8.8.8.0/24', '8.8.8.9'), HERE));
    expect(dup.added).toEqual([]);
    expect(dup.skipped.map((s) => s.cidr)).toEqual(['8.8.8.0/24', '8.8.8.9/32']);
    const removed = rec(await me.removeIp(e('2606:4700::/32'), HERE));
    expect(removed.removed).toEqual(['2606:4700::/32']);
    rec(await failure(me.removeIp(e('1.1.1.1'), HERE)));
    const cleared = rec(await me.clearIp());
    expect(cleared.entries).toEqual([]);
    expect(rec(await me.listIp())).toEqual([]);
    expect((await me.status()).ipAllowList).toEqual([]);
  },

  'a bad entry changes nothing, and the error names the entry and where it came from': async (world, rec) => {
    const { me } = await initAlice(world);
    await me.addIp([LOOPBACK, ...e('1.1.1.1')], HERE);
    const bad = rec(
      await failure(me.addIp([{ text: '8.8.8.8' }, { text: '1.2.3.4/33', where: 'line 5 of allow.txt' }], HERE)),
    );
    expect(bad).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    expect(bad.message).toContain('"1.2.3.4/33" (line 5 of allow.txt)');
    const set = rec(await failure(me.setIp([LOOPBACK, { text: 'not-an-ip', where: 'line 2 of allow.txt' }], HERE)));
    expect(set.exitCode).toBe(2);
    expect((await me.listIp()).map((x) => x.cidr)).toEqual(['1.1.1.1/32', '127.0.0.1/32']);
    for (const [text, why] of [
      ['fe80::1%eth0', 'zone'],
      ['010.1.1.1', 'leading zero'],
    ]) {
      const r = rec(await failure(me.addIp(e(text!), HERE)));
      expect(r.message, why).toContain('is not an IP address or CIDR range');
    }
  },

  'private ranges need allowPrivate, per call or per entry': async (world, rec) => {
    const { me } = await initAlice(world);
    const priv = rec(await failure(me.addIp([LOOPBACK, ...e('192.168.1.0/24')], HERE)));
    expect(priv).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    expect(priv.message).toContain('private (RFC 1918)');
    const sixToFour = rec(await failure(me.addIp([LOOPBACK, ...e('2002::/16')], HERE)));
    expect(sixToFour.message).toContain('6to4 (RFC 3056)');
    rec(await me.addIp([LOOPBACK, ...e('192.168.1.0/24')], { ...HERE, allowPrivate: true }));
    rec(await me.addIp([{ text: '10.0.0.0/8', allowPrivate: true }], HERE));
    const list = rec(await me.listIp());
    expect(list.map((x) => x.cidr)).toEqual(expect.arrayContaining(['10.0.0.0/8', '192.168.1.0/24']));
  },

  'the lock-out guard refuses a list without the current address (exit 7) unless forced': async (world, rec) => {
    const { me } = await initAlice(world);
    const refused = rec(await failure(me.addIp(e('8.8.8.0/24'), HERE)));
    expect(refused).toMatchObject({ class: 'Forbidden', exitCode: 7 });
    expect(refused.message).toContain('lock out your current address 127.0.0.1');
    expect(await me.listIp()).toEqual([]);
    rec(await me.addIp([LOOPBACK], HERE));
    const forced = rec(await me.setIp([LOOPBACK, ...e('8.8.8.0/24')], { ...HERE, force: true }));
    expect(forced.entries.map((x) => x.cidr)).toEqual(['127.0.0.1/32', '8.8.8.0/24']);
    const removeHere = rec(await failure(me.removeIp([LOOPBACK], HERE)));
    expect(removeHere.exitCode).toBe(7);
  },

  'set replaces the whole list at once; an empty set lifts the restriction': async (world, rec) => {
    const { me } = await initAlice(world);
    rec(await me.addIp([LOOPBACK, ...e('1.1.1.1', '8.8.8.0/24')], HERE));
    const set = rec(await me.setIp([LOOPBACK, ...e('9.9.9.0/24', '2606:4700::/32')], HERE));
    expect(set.added.sort()).toEqual(['2606:4700::/32', '9.9.9.0/24']);
    expect(set.removed.sort()).toEqual(['1.1.1.1/32', '8.8.8.0/24']);
    expect((await me.listIp()).map((x) => x.cidr).sort()).toEqual(['127.0.0.1/32', '2606:4700::/32', '9.9.9.0/24']);
    const empty = rec(await me.setIp([], HERE));
    expect(empty.entries).toEqual([]);
    expect(rec(await me.checkIp('9.9.9.9')).restricted).toBe(false);
  },

  'replacing and clearing outside the 10-minute window need identity': async (world, rec) => {
    const { me } = await initAlice(world);
    await me.addIp([LOOPBACK, ...e('1.1.1.1')], HERE);
    world.clock.advance(11 * MINUTE);
    const need = rec(await failure(me.clearIp()));
    expect(need).toMatchObject({ class: 'IdentityRequired', exitCode: 3 });
    rec(await failure(me.setIp([LOOPBACK], HERE)));
    rec(await failure(me.clearIp({ password: 'not the password at all' })));
    rec(await me.clearIp({ password: PASSWORD }));
    expect(await me.listIp()).toEqual([]);
    const log = rec(await me.activity(20));
    expect(log.map((x) => x.event)).toEqual(expect.arrayContaining(['ip.added', 'ip.cleared']));
  },

  // SPEC §6, documented: only the server knows the caller's address; a local call has none.
  'a forced list without 127.0.0.1 shuts out HTTP callers from there, and only them': async (world) => {
    const { me } = await initAlice(world);
    await me.addIp(e('8.8.8.0/24'), { ...HERE, force: true });
    const status = me.status();
    const signIn = world.anonymous().signIn({ username: 'alice', password: PASSWORD });
    if (world.name === 'remote') {
      expect(await failure(status)).toMatchObject({ class: 'Forbidden', exitCode: 7 });
      // Refused as a wrong password would be: the list tells nothing to someone who has the password.
      expect(await failure(signIn)).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    } else {
      expect((await status).ipAllowList).toHaveLength(1);
      expect((await signIn).status).toBe('signed-in');
    }
  },
};

contract(import.meta.url, cases);
