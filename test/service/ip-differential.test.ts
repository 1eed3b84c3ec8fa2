import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { isAllowedById, parseAddress, parseEntry } from '../../src/service/ip-networks.js';
import { replaceIpEntries } from '../../src/store/ip-allow-list.js';
import { testContext, withAlice } from './context.js';
import { ipCorpus } from './ip-corpus.js';

// Issue #17 §4: acctsec reads IP addresses and networks as Python's ipaddress does (Debian's
// /usr/bin/python3, standard library). One run of Python answers the whole corpus: validity, the
// canonical form stored, and membership of (network, address) pairs as isAllowed decides it.

const PYTHON = '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('./ipaddress-oracle.py', import.meta.url));
const SEED = 17;

/**
 * The deliberate differences, each refused on purpose (README, "IP restriction"). Besides these, the
 * oracle applies SPEC §6's rule that an IPv4-mapped address, and an IPv4-mapped network of /96 or
 * longer, is the IPv4 one it carries; and surrounding whitespace (a file line, a pasted argument) is
 * trimmed before reading, so an input is compared with Python's answer for the trimmed text.
 */
const DELIBERATE: { refusal: string; why: string; applies: (text: string) => boolean }[] = [
  {
    refusal: 'zone id',
    why: 'fe80::1%eth0: the zone is an interface of one host, meaningless in a list; dropping it would make two addresses one',
    applies: (t) => t.includes('%'),
  },
  {
    refusal: 'netmask',
    why: '1.2.3.0/255.255.255.0 or /0.0.0.255: one way to write a range, the prefix length',
    applies: (t) => t.split('/')[1]?.includes('.') === true,
  },
  {
    refusal: 'over 100 characters',
    why: 'no address or range is; only padding such as /000…024 makes one',
    applies: (t) => t.length > 100,
  },
];

function deliberate(text: string): string | undefined {
  return DELIBERATE.find((d) => d.applies(text.trim()))?.refusal;
}

function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

interface Answers {
  entries: (string | null)[];
  addresses: (string | null)[];
  pairs: (boolean | null)[];
}

describe("IP parsing agrees with Python's ipaddress", () => {
  const corpus = ipCorpus(SEED, 3600);
  // Entries without a prefix are client addresses too (ip check, --current-ip, a token's caller).
  const entryTexts = [...new Set(corpus.entries.flatMap((e) => [e, e.trim()]))];
  const addressTexts = [
    ...new Set(
      [...corpus.entries.filter((e) => !e.includes('/')), ...corpus.pairs.map(([, a]) => a)].flatMap((a) => [
        a,
        a.trim(),
      ]),
    ),
  ];
  let python: { entry: Map<string, string | null>; address: Map<string, string | null>; pairs: (boolean | null)[] };

  beforeAll(async () => {
    const r = await execa(PYTHON, [ORACLE], {
      input: JSON.stringify({ entries: entryTexts, addresses: addressTexts, pairs: corpus.pairs }),
    });
    const answers = JSON.parse(r.stdout) as Answers;
    python = {
      entry: new Map(entryTexts.map((t, i) => [t, answers.entries[i]!])),
      address: new Map(addressTexts.map((t, i) => [t, answers.addresses[i]!])),
      pairs: answers.pairs,
    };
  });

  it(`agrees on validity and the canonical form of every entry and address (seed ${SEED})`, () => {
    const disagreements: string[] = [];
    const counts = { entries: 0, accepted: 0, refused: 0, trimmed: 0, deliberate: new Map<string, number>() };
    const judge = (text: string, ours: string | null, theirs: Map<string, string | null>) => {
      const why = deliberate(text);
      if (why) {
        if (ours !== null)
          disagreements.push(`${JSON.stringify(text)}: accepted as ${ours}, but refused on purpose (${why})`);
        if (theirs.get(text.trim()) !== null) counts.deliberate.set(why, (counts.deliberate.get(why) ?? 0) + 1);
        return;
      }
      const expected = theirs.get(text.trim()) ?? null;
      if (ours !== expected)
        disagreements.push(`${JSON.stringify(text)}: acctsec ${ours ?? 'refuses'}, Python ${expected ?? 'refuses'}`);
      if (text !== text.trim() && expected !== null && theirs.get(text) === null) counts.trimmed++;
    };
    for (const text of corpus.entries) {
      const ours = attempt(() => parseEntry(text, { allowPrivate: true }).network.cidr);
      counts.entries++;
      if (ours === null) counts.refused++;
      else counts.accepted++;
      judge(text, ours, python.entry);
    }
    for (const text of addressTexts)
      judge(
        text,
        attempt(() => parseAddress(text, 'address').toString()),
        python.address,
      );
    console.log(
      `ip differential: ${counts.entries} entries (${counts.accepted} accepted, ${counts.refused} refused) and ${addressTexts.length} addresses, ` +
        `${disagreements.length} disagreements; trimmed then read: ${counts.trimmed}; deliberate refusals Python accepts: ` +
        [...counts.deliberate].map(([refusal, n]) => `${n} × ${refusal}`).join(', '),
    );
    expect(disagreements).toEqual([]);
    // Each deliberate refusal is exercised by inputs Python reads, or the list above proves nothing.
    expect([...counts.deliberate.keys()].sort()).toEqual(DELIBERATE.map((d) => d.refusal).sort());
    expect(counts.accepted).toBeGreaterThan(1000);
    expect(counts.refused).toBeGreaterThan(300);
  });

  it('agrees on membership: the address is allowed by a list holding the network exactly when Python says it is in it', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const disagreements: string[] = [];
    const counts = { inside: 0, outside: 0, refused: 0 };
    corpus.pairs.forEach(([network, address], i) => {
      const cidr = attempt(() => parseEntry(network, { allowPrivate: true }).network.cidr);
      let ours: boolean | null = null;
      if (cidr !== null && attempt(() => parseAddress(address, 'address')) !== null) {
        replaceIpEntries(ctx.db, auth.account.id, [{ cidr, created_at: 0 }]);
        ours = isAllowedById(ctx, auth.account.id, address);
      }
      const theirs = python.pairs[i]!;
      if (ours !== theirs)
        disagreements.push(`${address} in ${network} (stored as ${cidr}): acctsec ${ours}, Python ${theirs}`);
      if (theirs === null) counts.refused++;
      else if (theirs) counts.inside++;
      else counts.outside++;
    });
    console.log(
      `ip differential: ${corpus.pairs.length} (network, address) pairs: ${counts.inside} in, ${counts.outside} out, ${counts.refused} refused; ${disagreements.length} disagreements`,
    );
    expect(disagreements).toEqual([]);
    expect(counts.inside).toBeGreaterThan(300);
    expect(counts.outside).toBeGreaterThan(300);
  });
});
