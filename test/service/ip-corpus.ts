// The corpus of the differential test against Python's ipaddress (ip-differential.test.ts): hand-picked
// edge cases, then inputs generated from a fixed seed, so every run (and every failure) is the same.

/** mulberry32: a small seeded PRNG, enough to spread inputs; not for anything secret. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Entries (`ip add` arguments) chosen by hand: every disagreement issue #17 found, and their kin. */
export const EDGE_ENTRIES: string[] = [
  // IPv4-mapped: /96 and longer is the IPv4 range; shorter is the IPv6 range it is, never 0.0.0.0/0
  '::ffff:203.0.113.9/64',
  '::ffff:203.0.113.9',
  '::FFFF:203.0.113.9/120',
  '::ffff:1.2.3.4/96',
  '::ffff:1.2.3.4/95',
  '::ffff:0:0/96',
  '::ffff:0.0.0.0/96',
  '::ffff:0:0/80',
  '0:0:0:0:0:ffff:102:304',
  '::ffff:102:304/128',
  '::ffff:8.8.8.0/120',
  // IPv4-compatible (deprecated): the same address in both spellings
  '::8.8.8.8',
  '::808:808',
  '::8.8.8.8/96',
  '::8.8.8.8/120',
  '::0.0.0.1',
  '::1.2.3.4/128',
  // embedded IPv4 in every position it may and may not take
  '1:2:3:4:5:6:1.2.3.4',
  '1::1.2.3.4',
  '1:2::3:1.2.3.4',
  '::1:2:3:4:5:1.2.3.4',
  '1:2:3:4:5::1.2.3.4',
  '64:ff9b::8.8.8.8',
  '1:2:3:4:5:6:7:1.2.3.4',
  '1.2.3.4::',
  '::1.2.3.4:5',
  '1:1.2.3.4::',
  '::1.2.3',
  '::1.2.3.4.5',
  '::256.1.1.1',
  '::ffff:1.2.3.4%eth0',
  // zone ids
  'fe80::1%eth0',
  '2606:4700:4700::1111%eth0',
  'fe80::1%1',
  'fe80::1%',
  '%eth0',
  'fe80::1%eth0/64',
  '1.2.3.4%eth0',
  'fe80::1%%',
  // leading zeros
  '010.2.3.4',
  '::ffff:010.2.3.4',
  '1.2.3.04',
  '00.1.2.3',
  '0.0.0.0',
  '1.02.3.4/24',
  '::ffff:1.2.3.004',
  '0000:0db8::0001',
  '1.2.3.0/024',
  '1.2.3.0/0024',
  '2001:db8::/032',
  '1.2.3.0/00',
  '::/000',
  // special ranges, within and overlapping
  '2002::/16',
  '2002:c000:0204::1',
  '2000::/3',
  '2001::/32',
  '2001:db8::/32',
  '64:ff9b::/96',
  '::/96',
  '::/8',
  // the unspecified, everything and the prefix limits
  '::',
  '::/0',
  '0.0.0.0/0',
  '0.0.0.0/1',
  '8.8.8.8/0',
  '1.2.3.4/32',
  '1.2.3.4/33',
  '1.2.3.4/31',
  '::1/128',
  '::1/129',
  '2001:db8::/127',
  '2001:db8::1/128',
  '2001:db8::/129',
  '1.2.3.4/99999',
  '1.2.3.4/-1',
  '1.2.3.4/+8',
  '1.2.3.4/0x8',
  // netmask and hostmask forms (Python reads them for IPv4)
  '1.2.3.0/255.255.255.0',
  '1.2.3.0/0.0.0.255',
  '1.2.3.0/255.0.255.0',
  '2001:db8::/ffff::',
  // whitespace, outside and inside
  ' 8.8.8.8',
  '8.8.8.8 ',
  '\t2001:db8::1\n',
  ' ::ffff:8.8.8.8/120 ',
  '8.8.8.8 /24',
  '8.8.8.8/ 24',
  '8.8. 8.8',
  '2001:db8:: 1',
  // case and hex spellings
  '2001:DB8::ABCD',
  'FE80::1',
  '::FFFF:8.8.8.8',
  '2606:4700:4700:0000:0000:0000:0000:1111',
  '2606:4700:4700:0:0:0:0:1111',
  '1:0:0:1:0:0:1:1',
  '1:0:0:0:1:0:0:0',
  '0:0:1:0:0:1:0:0',
  '1:0:0:1:0:0:0:1',
  '0:0:0:0:0:0:0:0',
  '0:0:0:0:0:0:0:1',
  '1:0:1:0:1:0:1:0',
  // malformed colons and groups
  ':::',
  '1:::2',
  '::1::',
  '1::2::3',
  ':1::2',
  '1::2:',
  ':1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7',
  '12345::',
  '0x1::',
  'g::1',
  '::1:',
  ':',
  '::ffff',
  '1:2',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
  // malformed IPv4
  '1.2.3',
  '1.2.3.4.5',
  '256.1.1.1',
  '1.2.3.-1',
  '1..2.3',
  '.1.2.3',
  '1.2.3.',
  '0x7f.0.0.1',
  '127.1',
  '16843009',
  '1e1.1.1.1',
  '+1.2.3.4',
  '1.2.3.4\u0000',
  '\u0661.\u0662.\u0663.\u0664',
  '１.２.３.４',
  '255.255.255.255',
  '255.255.255.255/32',
  // empty and slashes
  '',
  ' ',
  '/',
  '/24',
  '1.2.3.4/',
  '1.2.3.4//24',
  '1.2.3.4/24/8',
  '::/',
  '/::',
  // very long strings
  'x'.repeat(200),
  '1'.repeat(300),
  `1.2.3.0/${'0'.repeat(120)}24`,
  `${'0:'.repeat(60)}0`,
  `::${'f'.repeat(200)}`,
];

/** (network, address) pairs chosen by hand for membership. */
export const EDGE_PAIRS: [string, string][] = [
  ['::ffff:203.0.113.9/64', '8.8.8.8'],
  ['::ffff:203.0.113.9/64', '::ffff:8.8.8.8'],
  ['::ffff:203.0.113.9/64', '::1'],
  ['::ffff:0:0/96', '8.8.8.8'],
  ['::ffff:0:0/96', '2001:db8::1'],
  ['::ffff:8.8.8.0/120', '8.8.8.8'],
  ['8.8.8.0/24', '::ffff:8.8.8.8'],
  ['8.8.8.8', '::8.8.8.8'],
  ['8.8.8.8', '::808:808'],
  ['::8.8.8.8', '::808:808'],
  ['::808:808', '::8.8.8.8'],
  ['::808:808', '8.8.8.8'],
  ['::/0', '8.8.8.8'],
  ['::/0', '::ffff:8.8.8.8'],
  ['::/0', '2001:db8::1'],
  ['0.0.0.0/0', '2001:db8::1'],
  ['0.0.0.0/0', '::ffff:1.2.3.4'],
  ['::/96', '::8.8.8.8'],
  ['::/96', '8.8.8.8'],
  ['2002::/16', '2002:808:808::1'],
  ['2002::/16', '8.8.8.8'],
  ['::/64', '::ffff:1.2.3.4'],
  ['1.2.3.0/024', '1.2.3.200'],
  ['2001:db8::/127', '2001:db8::1'],
  ['2001:db8::/127', '2001:db8::2'],
  ['::1/128', '::1'],
];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function int(rnd: () => number, below: number): number {
  return Math.floor(rnd() * below);
}

/** An IPv4 address written with an occasional leading zero, as people and old tools write them. */
function writeV4(rnd: () => number, octets: number[]): string {
  return octets.map((o) => (rnd() < 0.02 ? `0${o}` : String(o))).join('.');
}

/** Any valid spelling of 8 hextets: padded or not, any case, any zero run compressed, an IPv4 tail. */
function writeV6(rnd: () => number, hextets: number[]): string {
  const pad = rnd() < 0.15;
  const upper = rnd() < 0.15;
  const tail =
    rnd() < 0.2 ? writeV4(rnd, [hextets[6]! >> 8, hextets[6]! & 255, hextets[7]! >> 8, hextets[7]! & 255]) : '';
  let groups = hextets
    .slice(0, tail ? 6 : 8)
    .map((h) => h.toString(16))
    .map((g) => (pad ? g.padStart(4, '0') : g));
  if (upper) groups = groups.map((g) => g.toUpperCase());
  const runs: [number, number][] = [];
  for (let i = 0; i < groups.length; i++) {
    if (hextets[i] !== 0) continue;
    let j = i;
    while (j < groups.length && hextets[j] === 0) j++;
    runs.push([i, j - int(rnd, j - i)]);
  }
  const withTail = (left: string[]) => (tail ? [...left, tail] : left);
  if (runs.length === 0 || rnd() < 0.2) return withTail(groups).join(':');
  const [from, to] = pick(rnd, runs);
  return `${groups.slice(0, from).join(':')}::${withTail(groups.slice(to)).join(':')}`;
}

const V4_BASES = [
  [8, 8, 8],
  [1, 1, 1],
  [203, 0, 113],
  [10, 0, 0],
  [192, 168, 1],
  [172, 16, 5],
  [127, 0, 0],
  [100, 64, 1],
  [169, 254, 3],
  [224, 0, 0],
  [0, 0, 0],
  [255, 255, 255],
  [198, 51, 100],
];
const V6_BASES = [
  [0x2001, 0x4860],
  [0x2606, 0x4700],
  [0x2001, 0xdb8],
  [0x2002, 0xc000],
  [0xfe80, 0],
  [0xfd00, 0],
  [0xff02, 0],
  [0x64, 0xff9b],
  [0x2001, 0],
  [0, 0],
];

function v4(rnd: () => number): number[] {
  if (rnd() < 0.5) return [...pick(rnd, V4_BASES), int(rnd, 256)];
  return [int(rnd, 256), int(rnd, 256), int(rnd, 256), int(rnd, 256)];
}

function v6(rnd: () => number): number[] {
  const kind = rnd();
  if (kind < 0.15) return [0, 0, 0, 0, 0, 0xffff, int(rnd, 65536), int(rnd, 65536)]; // IPv4-mapped
  if (kind < 0.25) return [0, 0, 0, 0, 0, 0, int(rnd, 65536), int(rnd, 65536)]; // IPv4-compatible, :: and ::1 among them
  const h = [...pick(rnd, V6_BASES), 0, 0, 0, 0, 0, 0];
  for (let i = 2; i < 8; i++) if (rnd() < 0.35) h[i] = rnd() < 0.5 ? int(rnd, 16) : int(rnd, 65536);
  return h;
}

/** The address's bits past the prefix, set at random: an address inside the network. */
function inside(rnd: () => number, hextetsOrOctets: number[], width: number, prefix: number): number[] {
  return hextetsOrOctets.map((part, i) => {
    const keep = Math.max(0, Math.min(width, prefix - i * width));
    const hostMask = keep === width ? 0 : (1 << (width - keep)) - 1;
    return (part & ~hostMask & ((1 << width) - 1)) | (int(rnd, 1 << width) & hostMask);
  });
}

const JUNK = '0123456789abcdefABCDEF:./% gx-';

/** One character inserted, dropped or replaced: near misses exercise the reader hardest. */
function mutate(rnd: () => number, text: string): string {
  const at = int(rnd, text.length + 1);
  const c = pick(rnd, [...JUNK]);
  const how = int(rnd, 3);
  if (how === 0) return text.slice(0, at) + c + text.slice(at);
  if (how === 1) return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + c + text.slice(at + 1);
}

const WHITESPACE = [' ', '\t', '\n', '\r\n', '  '];

export interface Corpus {
  entries: string[];
  pairs: [string, string][];
}

/** The whole corpus: the edge cases and `count` generated entries and pairs from `seed`. */
export function ipCorpus(seed: number, count: number): Corpus {
  const rnd = prng(seed);
  const entries = [...EDGE_ENTRIES];
  const pairs = [...EDGE_PAIRS];
  for (let n = 0; n < count; n++) {
    const six = rnd() < 0.55;
    const parts = six ? v6(rnd) : v4(rnd);
    const width = six ? 16 : 8;
    const max = six ? 128 : 32;
    const prefix =
      rnd() < 0.3 ? max : rnd() < 0.1 ? pick(rnd, [0, 1, max - 1, max + 1, 95, 96, 97, 64, 80]) : int(rnd, max + 1);
    const write = (p: number[]) => (six ? writeV6(rnd, p) : writeV4(rnd, p));
    let entry = prefix === max && rnd() < 0.5 ? write(parts) : `${write(parts)}/${prefix}`;
    const odd = rnd();
    if (odd < 0.15) entry = mutate(rnd, entry);
    else if (odd < 0.18) entry = `${entry}%${pick(rnd, ['eth0', '1', 'en0', ''])}`;
    else if (odd < 0.22) entry = `${pick(rnd, WHITESPACE)}${entry}${pick(rnd, ['', ...WHITESPACE])}`;
    entries.push(entry);
    if (n % 3 !== 0 || prefix > max) continue;
    // Membership: one address inside the network, one anywhere, and other spellings of them.
    const network = `${write(parts)}/${prefix}`;
    const within = inside(rnd, parts, width, prefix);
    pairs.push([network, write(within)]);
    const other = six ? v6(rnd) : v4(rnd);
    pairs.push([network, write(other)]);
    if (!six) {
      const [a, b, c, d] = within as [number, number, number, number];
      pairs.push([
        network,
        pick(rnd, [
          `::ffff:${within.join('.')}`,
          `::${within.join('.')}`,
          `::${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`,
        ]),
      ]);
    } else if (within[5] === 0xffff && within.slice(0, 5).every((h) => h === 0)) {
      pairs.push([network, `${within[6]! >> 8}.${within[6]! & 255}.${within[7]! >> 8}.${within[7]! & 255}`]);
    }
  }
  return { entries, pairs };
}
