import ipaddr from 'ipaddr.js';

// The one reader of IP address text, for every layer that meets it: the IP allow-list (service), the
// client address a token is checked from (service) and X-Forwarded-For hops (server). It follows
// Python's `ipaddress` (RFC 4291 §2.2), checked by test/service/ip-differential.test.ts, with one
// deliberate refusal: zone ids (see `readAddress`). ipaddr.js still matches and prints addresses, but
// does not read them: it takes `::a.b.c.d` for `::ffff:a.b.c.d`, `::ffff:010.2.3.4` for 10.2.3.4, and
// keeps `%eth0` as part of the address.

export type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** The address, or why the text is not one ('' when it is simply not an address). */
export type AddressReading = { address: Address } | { why: string };

const LEADING_ZEROS = 'leading zeros are ambiguous (some tools read 010 as octal 8)';

function readIPv4(text: string): AddressReading {
  const octets = text.split('.');
  if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) return { why: '' };
  if (octets.some((o) => o.length > 1 && o.startsWith('0'))) return { why: LEADING_ZEROS };
  return { address: new ipaddr.IPv4(octets.map(Number)) };
}

/** RFC 4291 §2.2, read as Python's ipaddress reads it: 1-4 hex digits a part, one `::`, an IPv4 tail. */
function readIPv6(text: string): AddressReading {
  const zone = text.indexOf('%');
  if (zone >= 0)
    return {
      why: `a zone id (${text.slice(zone, zone + 20)}) names an interface of one host, not part of an address: leave it out`,
    };
  const parts = text.split(':');
  if (parts.length < 3) return { why: '' };
  const last = parts[parts.length - 1]!;
  if (last.includes('.')) {
    const tail = readIPv4(last);
    if (!('address' in tail)) return tail;
    const [a, b, c, d] = (tail.address as ipaddr.IPv4).octets as [number, number, number, number];
    parts.splice(parts.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  if (parts.length > 9) return { why: '' };
  // An empty part other than at either end is the `::`; an empty end is only allowed as half of it.
  const gaps = parts.slice(1, -1).flatMap((p, i) => (p === '' ? [i + 1] : []));
  if (gaps.length > 1) return { why: '' };
  let hi = parts.length;
  let lo = 0;
  if (gaps.length === 1) {
    hi = gaps[0]!;
    lo = parts.length - hi - 1;
    if (parts[0] === '' && --hi !== 0) return { why: '' };
    if (parts[parts.length - 1] === '' && --lo !== 0) return { why: '' };
    if (hi + lo > 7) return { why: '' };
  } else if (parts.length !== 8) return { why: '' };
  const written = [...parts.slice(0, hi), ...parts.slice(parts.length - lo)];
  if (!written.every((p) => /^[0-9a-fA-F]{1,4}$/.test(p))) return { why: '' };
  const hextets = written.map((p) => parseInt(p, 16));
  return {
    address: new ipaddr.IPv6([...hextets.slice(0, hi), ...Array<number>(8 - hi - lo).fill(0), ...hextets.slice(hi)]),
  };
}

/**
 * An address in the strict forms people write: a dotted quad for IPv4 (no `0x7f.1`, `127.1` or
 * `16843009`), RFC 4291 text for IPv6 (`::8.8.8.8` is `::808:808`, not 8.8.8.8). Refused on purpose
 * although Python's ipaddress reads them: zone ids (`fe80::1%eth0`), since the zone is an interface of
 * one host, meaningless in a list or a log, and dropping it silently would make two addresses one.
 * Leading zeros in an IPv4 part, in an IPv6 tail too (`010.2.3.4`, `::ffff:010.2.3.4`), are refused
 * as Python (since 3.9.5) refuses them: inet_aton and the tools built on it read them as octal.
 */
export function readAddress(text: string): AddressReading {
  if (text.includes(':')) return readIPv6(text);
  return readIPv4(text);
}

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is the IPv4 address it carries. */
export function unmapped(address: Address): Address {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

/**
 * The key an address is limited under: itself for IPv4 (IPv4-mapped IPv6 arrives as IPv4), its /64
 * for IPv6.
 */
export function addressGroup(address: string): string {
  // ipaddr.js, not node:net's isIP: loading node:net (and the stream modules under it) cost about 5 ms
  // of every command's start-up (issue #18). Socket addresses are well formed; a zone id is allowed.
  if (!address.includes(':') || !ipaddr.IPv6.isValid(address)) return address;
  const parts = ipaddr.IPv6.parse(address).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
