import ipaddr from 'ipaddr.js';
import { InvalidInput } from '../errors.js';
import { readAddress, unmapped, type Address, type AddressReading } from '../ip-address.js';
import type { AccountRow } from '../store/accounts.js';
import { listIpEntries } from '../store/ip-allow-list.js';
import type { IpCheck, IpEntry } from '../views.js';
import type { ServiceContext } from './context.js';

// IP restriction (SPEC §6), read side: the networks an account may be used from. Text is read by ip-address.ts
// (the rules of Python's ipaddress, checked by test/service/ip-differential.test.ts); ipaddr.js matches.

export interface Network {
  /** Canonical form, Python's `str(ip_network(...))`: 203.0.113.0/24, 2001:db8::/32, ::/64. */
  cidr: string;
  address: Address;
  prefix: number;
}

const MAX_INPUT = 100;
export const MAX_ENTRIES = 1000;

/** Special ranges people might type by mistake, named in the refusal (RFC 6890 and friends). */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (RFC 6598)',
  private: 'private (RFC 1918)',
  reserved: 'reserved or documentation',
  as112: 'AS112 (RFC 7535)',
  amt: 'AMT relay (RFC 7450)',
  uniqueLocal: 'unique local (RFC 4193)',
  ipv4Mapped: 'IPv4-mapped (RFC 4291)',
  deprecatedSiteLocal: 'site-local (deprecated)',
  discard: 'discard-only (RFC 6666)',
  rfc6145: 'IPv4-translated (RFC 6145)',
  rfc6052: 'IPv4/IPv6 translation (RFC 6052)',
  '6to4': '6to4 (RFC 3056)',
  teredo: 'Teredo (RFC 4380)',
  benchmarking: 'benchmarking (RFC 5180)',
  as112v6: 'AS112 (RFC 7534)',
  deprecatedOrchid: 'ORCHID (deprecated)',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'drone remote ID (RFC 9374)',
  segmentRouting: 'segment routing (RFC 9602)',
};

/**
 * ipaddr.js's RFC 6890 tables (kept on the prototype, untyped), every range but plain unicast, and
 * the IPv4-compatible block it lacks: `::808:808` (also written `::8.8.8.8`) is not 8.8.8.8.
 */
const SPECIAL_RANGES: { label: string; address: Address; bits: number }[] = [ipaddr.IPv4, ipaddr.IPv6].flatMap(
  (family) => {
    const table = (
      family.prototype as unknown as { SpecialRanges: Record<string, [Address, number] | [Address, number][]> }
    ).SpecialRanges;
    return Object.entries(table).flatMap(([name, value]) => {
      if (name === 'unicast') return [];
      const ranges = (Array.isArray(value[0]) ? value : [value]) as [Address, number][];
      return ranges.map(([address, bits]) => ({ label: RANGE_NAMES[name] ?? name, address, bits }));
    });
  },
);
SPECIAL_RANGES.push({ label: 'IPv4-compatible (deprecated, RFC 4291)', address: ipaddr.IPv6.parse('::'), bits: 96 });

function shown(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** `: why` after "is not an IP address", when the reader said why. */
function because(reading: AddressReading): string {
  return 'why' in reading && reading.why ? `: ${reading.why}` : '';
}

/**
 * An IPv4-mapped network of /96 or longer is the IPv4 network it carries (SPEC §6: it matches as IPv4).
 * A shorter one is the IPv6 range it is: `::ffff:203.0.113.9/64` is `::/64`, never 0.0.0.0/0.
 */
function unmap(address: Address, prefix: number): { address: Address; prefix: number } {
  if (prefix >= 96 && unmapped(address) !== address) return { address: unmapped(address), prefix: prefix - 96 };
  return { address, prefix };
}

function networkOf(address: Address, prefix: number): Address {
  return address.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
}

export interface ParsedEntry {
  network: Network;
  /** Set when the input had host bits: "203.0.113.7/24 stored as 203.0.113.0/24". */
  hostBitsWarning?: string;
}

/** One entry of a list: an address (a /32 or /128) or a CIDR range. Throws InvalidInput naming it. */
export function parseEntry(raw: string, options: { allowPrivate: boolean; where?: string }): ParsedEntry {
  const text = raw.trim();
  const where = options.where ? ` (${options.where})` : '';
  if (!text) throw new InvalidInput(`empty entry${where}`, 'cidr');
  if (text.length > MAX_INPUT)
    throw new InvalidInput(`"${shown(text)}"${where} is not an IP address or CIDR range (too long)`, 'cidr');
  const [addrText = '', prefixText, extra] = text.split('/');
  const reading = readAddress(addrText);
  // A prefix length in decimal (leading zeros too, as Python reads it); no netmask form (/255.255.255.0).
  if (!('address' in reading) || extra !== undefined || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    throw new InvalidInput(`"${shown(text)}"${where} is not an IP address or CIDR range${because(reading)}`, 'cidr');
  }
  const literal = reading.address;
  const max = literal.kind() === 'ipv4' ? 32 : 128;
  const rawPrefix = prefixText === undefined ? max : Number(prefixText);
  if (rawPrefix > max) throw new InvalidInput(`"${text}"${where}: the prefix /${rawPrefix} is beyond /${max}`, 'cidr');
  const { address, prefix } = unmap(literal, rawPrefix);
  const network = networkOf(address, prefix);
  const cidr = `${network.toString()}/${prefix}`;
  if (!options.allowPrivate) {
    const special = specialRange(network, prefix);
    if (special) {
      throw new InvalidInput(
        `"${text}"${where} ${special}: only public addresses make sense here (or pass --allow-private)`,
        'cidr',
      );
    }
  }
  const result: ParsedEntry = { network: { cidr, address: network, prefix } };
  if (network.toString() !== address.toString())
    result.hostBitsWarning = `${text} has host bits set: stored as ${cidr}`;
  return result;
}

/**
 * "is in the private (RFC 1918) range" or, for a wider network that holds one, "overlaps the 6to4
 * (RFC 3056) range"; null for a public network. CIDR blocks are nested or disjoint.
 */
function specialRange(network: Address, prefix: number): string | null {
  const family = SPECIAL_RANGES.filter((r) => r.address.kind() === network.kind());
  const within = family.find((r) => r.bits <= prefix && network.match(r.address, r.bits));
  if (within) return `is in the ${within.label} range`;
  const overlapping = family.find((r) => r.bits > prefix && r.address.match(network, prefix));
  return overlapping ? `overlaps the ${overlapping.label} range` : null;
}

/** A client address: the same reading as entries, an IPv4-mapped one is the IPv4 address. */
export function parseAddress(raw: string, field: string): Address {
  const text = raw.trim();
  const reading: AddressReading = text.length <= MAX_INPUT ? readAddress(text) : { why: 'too long' };
  if (!('address' in reading))
    throw new InvalidInput(`"${shown(text)}" is not an IP address${because(reading)}`, field);
  return unmapped(reading.address);
}

export function toNetwork(cidr: string): Network {
  const [address, prefix] = ipaddr.parseCIDR(cidr);
  return { cidr, address, prefix };
}

export function contains(n: Network, address: Address): boolean {
  return n.address.kind() === address.kind() && address.match(n.address, n.prefix);
}

export function covers(wide: Network, narrow: Network): boolean {
  return wide.prefix <= narrow.prefix && contains(wide, narrow.address);
}

/** The one check sign-in and token checks call. An empty list allows every address. */
export function isAllowed(ctx: ServiceContext, account: AccountRow, address: string): boolean {
  return isAllowedById(ctx, account.id, address);
}

export function isAllowedById(ctx: ServiceContext, accountId: number, address: string): boolean {
  const entries = listIpEntries(ctx.db, accountId);
  if (entries.length === 0) return true;
  const a = parseAddress(address, 'address');
  return entries.some((e) => contains(toNetwork(e.cidr), a));
}

export function views(ctx: ServiceContext, accountId: number): IpEntry[] {
  return listIpEntries(ctx.db, accountId).map((r) => {
    const n = toNetwork(r.cidr);
    return {
      cidr: r.cidr,
      family: n.address.kind() === 'ipv6' ? 6 : 4,
      addedAt: new Date(r.created_at).toISOString(),
      nonPublic: specialRange(n.address, n.prefix),
    };
  });
}

export function listIp(ctx: ServiceContext, account: AccountRow): IpEntry[] {
  return views(ctx, account.id);
}

export function checkIp(ctx: ServiceContext, account: AccountRow, raw: string): IpCheck {
  const address = parseAddress(raw, 'address');
  const entries = listIpEntries(ctx.db, account.id).map((e) => toNetwork(e.cidr));
  const match = entries.find((n) => contains(n, address));
  return {
    address: address.toString(),
    allowed: entries.length === 0 || match !== undefined,
    matchedBy: match?.cidr ?? null,
    restricted: entries.length > 0,
  };
}
