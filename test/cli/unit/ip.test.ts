import { describe, expect, it } from 'vitest';
import { ipCheckRun, ipClearRun, ipListRun, newCmdIp } from '../../../src/cli/commands/ip.js';
import { Forbidden, InvalidInput, MissingInput } from '../../../src/errors.js';
import type { IpChange, IpCheck, IpEntry } from '../../../src/views.js';
import {
  MINUTE,
  PASSWORD,
  ask,
  clock,
  createFakeFactory,
  initAlice,
  rejection,
  type FakeFactory,
} from './fake-factory.js';

const V4_ONLY =
  'the list has IPv4 entries and no IPv6: every IPv6 address is locked out (the seed: define both if you have IPv6)';

/** `acctsec ip ARGS` through the command tree: `ip add` and `ip remove` have no exported run function. */
async function ip(f: FakeFactory, ...args: string[]): Promise<void> {
  const cmd = newCmdIp(f).exitOverride();
  await cmd.parseAsync(args, { from: 'user' });
}

async function seed(f: FakeFactory, ...entries: string[]): Promise<void> {
  await (
    await f.backend()
  ).addIp(
    entries.map((text, i) => ({ text, where: `argument ${i + 1}` })),
    { allowPrivate: true, force: true },
    { password: PASSWORD },
  );
}

describe('ip list', () => {
  it('empty: a notice that nothing is restricted, no table', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await ipListRun({ f, plain: false });
    expect(f.io.lines).toEqual([]);
    expect(f.io.notes).toEqual(['No IP restriction: every address may be used.']);
  });

  it('a table of entries with family and date added', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    clock.advance(90 * MINUTE);
    await seed(f, '2606:4700::/32');
    await ipListRun({ f, plain: false });
    expect(f.io.lines).toEqual([
      'ENTRY           FAMILY  ADDED',
      '1.1.1.0/24      IPv4    2026-11-23 10:00',
      '2606:4700::/32  IPv6    2026-11-23 11:30',
    ]);
  });

  it('--plain: one entry a line, non-public ones marked for `ip set -f`', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await seed(f, '1.1.1.0/24', '10.0.0.0/8');
    await ipListRun({ f, plain: true });
    expect(f.io.lines).toEqual(['1.1.1.0/24', '10.0.0.0/8  # allow-private: is in the private (RFC 1918) range']);
  });

  it('--json: the entries', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    await ipListRun({ f, plain: false });
    expect(f.io.document<IpEntry[]>()).toEqual([
      { cidr: '1.1.1.0/24', family: 4, addedAt: '2026-11-23T10:00:00.000Z', nonPublic: null },
    ]);
  });
});

describe('ip add', () => {
  it('adds, reports the list size, warns that IPv6 is now locked out', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await ip(f, 'add', '1.1.1.0/24', '8.8.8.8');
    expect(f.io.lines).toEqual(['Added 1.1.1.0/24, 8.8.8.8/32.', 'The list has 2 entries.']);
    expect(f.io.warnings).toEqual([V4_ONLY]);
    expect(f.prompter.asked).toEqual([]);
  });

  it('host bits, duplicates and covered entries are reported on stderr', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await seed(f, '1.1.1.0/24', '2606:4700::/32');
    await ip(f, 'add', '1.1.1.7', '8.8.8.9/24');
    expect(f.io.warnings).toEqual(['8.8.8.9/24 has host bits set: stored as 8.8.8.0/24']);
    expect(f.io.notes).toEqual(['1.1.1.7/32: already covered by 1.1.1.0/24']);
    expect(f.io.lines).toEqual(['Added 8.8.8.0/24.', 'The list has 3 entries.']);
  });

  it('nothing new: "Nothing changed."', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await seed(f, '1.1.1.0/24', '2606:4700::/32');
    await ip(f, 'add', '1.1.1.0/24');
    expect(f.io.notes).toEqual(['1.1.1.0/24: already in the list']);
    expect(f.io.lines).toEqual(['Nothing changed.', 'The list has 2 entries.']);
  });

  it('--json: the IpChange', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await ip(f, 'add', '2606:4700::/32', '1.1.1.0/24');
    expect(f.io.document<IpChange>()).toEqual({
      added: ['2606:4700::/32', '1.1.1.0/24'],
      removed: [],
      skipped: [],
      warnings: [],
      entries: [
        { cidr: '1.1.1.0/24', family: 4, addedAt: '2026-11-23T10:00:00.000Z', nonPublic: null },
        { cidr: '2606:4700::/32', family: 6, addedAt: '2026-11-23T10:00:00.000Z', nonPublic: null },
      ],
    });
  });

  it('a private range without --allow-private: InvalidInput naming the entry and where it came from', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(ip(f, 'add', '1.1.1.1', '192.168.1.0/24'));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toBe(
      '"192.168.1.0/24" (argument 2) is in the private (RFC 1918) range: only public addresses make sense here (or pass --allow-private)',
    );
    expect((err as InvalidInput).field).toBe('cidr');
    expect(await (await f.backend()).listIp()).toEqual([]);
  });

  it('not an address: InvalidInput naming it', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(ip(f, 'add', '1.1.1.300'));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toMatch(/^"1\.1\.1\.300" \(argument 1\) is not an IP address or CIDR range/);
  });

  it('--current-ip outside the new list: Forbidden by the lock-out guard; --force goes through', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(ip(f, 'add', '1.1.1.0/24', '--current-ip', '8.8.8.8'));
    expect(err).toBeInstanceOf(Forbidden);
    expect(err.message).toBe('this change would lock out your current address 8.8.8.8: add it too, or pass --force');
    await ip(f, 'add', '1.1.1.0/24', '--current-ip', '8.8.8.8', '--force');
    expect(f.io.lines).toEqual(['Added 1.1.1.0/24.', 'The list has 1 entry.']);
  });

  it('past the identity window: asks the password', async () => {
    const f = createFakeFactory({ script: [ask.password('Password:', PASSWORD)] });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    await ip(f, 'add', '1.1.1.0/24');
    expect(f.io.notes).toEqual(['Confirm your identity to continue.']);
    expect(f.io.lines).toEqual(['Added 1.1.1.0/24.', 'The list has 1 entry.']);
  });
});

describe('ip check', () => {
  it('no restriction: allowed', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await ipCheckRun({ f, address: '8.8.8.8' });
    expect(f.io.lines).toEqual(['8.8.8.8: allowed (no IP restriction)']);
  });

  it('inside an entry: allowed by it', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    await ipCheckRun({ f, address: '1.1.1.9' });
    expect(f.io.lines).toEqual(['1.1.1.9: allowed by 1.1.1.0/24']);
  });

  it('outside: prints "not allowed" and throws Forbidden (exit 7)', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    const err = await rejection(ipCheckRun({ f, address: '8.8.8.8' }));
    expect(f.io.lines).toEqual(['8.8.8.8: not allowed']);
    expect(err).toBeInstanceOf(Forbidden);
    expect(err.message).toBe('8.8.8.8 is outside the IP allow-list');
  });

  it('--json, outside: the IpCheck, and still Forbidden', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    await expect(ipCheckRun({ f, address: '8.8.8.8' })).rejects.toBeInstanceOf(Forbidden);
    expect(f.io.document<IpCheck>()).toEqual({ address: '8.8.8.8', allowed: false, matchedBy: null, restricted: true });
  });

  it('an IPv4-mapped IPv6 address is checked as IPv4', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    await ipCheckRun({ f, address: '::ffff:1.1.1.9' });
    expect(f.io.document<IpCheck>()).toEqual({
      address: '1.1.1.9',
      allowed: true,
      matchedBy: '1.1.1.0/24',
      restricted: true,
    });
  });

  it('not an address: InvalidInput naming it', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(ipCheckRun({ f, address: 'example.com' }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toMatch(/^"example\.com" is not an IP address/);
    expect((err as InvalidInput).field).toBe('address');
  });
});

describe('ip clear', () => {
  it('asks for a yes at the prompt, then empties the list', async () => {
    const f = createFakeFactory({ script: [ask.confirm('Remove every entry, so any address may be used?', true)] });
    await initAlice(f);
    await seed(f, '1.1.1.0/24', '2606:4700::/32');
    await ipClearRun({ f, identity: {} });
    expect(f.prompter.asked).toEqual([
      { kind: 'confirm', message: 'Remove every entry, so any address may be used?', supply: '--yes', default: false },
    ]);
    expect(f.io.lines).toEqual(['Removed 1.1.1.0/24, 2606:4700::/32.', 'The list is empty: no restriction.']);
    expect(await (await f.backend()).listIp()).toEqual([]);
  });

  it('a no at the prompt changes nothing', async () => {
    const f = createFakeFactory({ script: [ask.confirm('Remove every entry, so any address may be used?', false)] });
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    await ipClearRun({ f, identity: {} });
    expect(f.io.notes).toEqual(['Nothing changed.']);
    expect(f.io.lines).toEqual([]);
    expect(await (await f.backend()).listIp()).toHaveLength(1);
  });

  it('--yes: no prompt; --json gives the IpChange', async () => {
    const f = createFakeFactory({ yes: true, json: true });
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    await ipClearRun({ f, identity: {} });
    expect(f.io.document<IpChange>()).toEqual({
      added: [],
      removed: ['1.1.1.0/24'],
      skipped: [],
      warnings: [],
      entries: [],
    });
    expect(f.prompter.asked).toEqual([]);
  });

  it('without prompts and without --yes: InvalidInput naming --yes', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    const err = await rejection(ipClearRun({ f, identity: {} }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toBe('ip clear removes the IP restriction: confirm with --yes');
    expect((err as InvalidInput).field).toBe('--yes');
    expect(await (await f.backend()).listIp()).toHaveLength(1);
  });

  it('--yes past the identity window without prompts: MissingInput', async () => {
    const f = createFakeFactory({ interactive: false, yes: true });
    await initAlice(f);
    await seed(f, '1.1.1.0/24');
    clock.advance(11 * MINUTE);
    await expect(ipClearRun({ f, identity: {} })).rejects.toBeInstanceOf(MissingInput);
  });

  it('an empty list: "Nothing changed."', async () => {
    const f = createFakeFactory({ yes: true });
    await initAlice(f);
    await ipClearRun({ f, identity: {} });
    expect(f.io.lines).toEqual(['Nothing changed.', 'The list is empty: no restriction.']);
  });
});
