import ipaddr from 'ipaddr.js';
import { Forbidden, InvalidInput, NotFound } from '../errors.js';
import { readAddress, unmapped, type Address, type AddressReading } from '../ip-address.js';
import type { AccountRow } from '../store/accounts.js';
import { listIpEntries, replaceIpEntries } from '../store/ip-allow-list.js';
import type { IdentityProof, IpChange, IpChangeOptions, IpCheck, IpEntry, IpEntryInput } from '../views.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { confirmIdentity } from './identity.js';
import { notifySecurity, securityNotice } from './notifications.js';
import type { Auth } from './sessions.js';

// IP restriction (SPEC §6): the networks an account may be used from. Text is read by ip-address.ts
// (the rules of Python's ipaddress, checked by test/service/ip-differential.test.ts); ipaddr.js matches.

export interface Network {
  /** Canonical form, Python's `str(ip_network(...))`: 203.0.113.0/24, 2001:db8::/32, ::/64. */
  cidr: string;
  address: Address;
  prefix: number;
}

const MAX_INPUT = 100;
const MAX_ENTRIES = 1000;

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
const SPECIAL_RANGES: { label: string; address: Address; bits: number }[] = [ipaddr.IPv4, ipaddr.IPv6].flatMap((family) => {
  const table = (family.prototype as unknown as { SpecialRanges: Record<string, [Address, number] | [Address, number][]> }).SpecialRanges;
  return Object.entries(table).flatMap(([name, value]) => {
    if (name === 'unicast') return [];
    const ranges = (Array.isArray(value[0]) ? value : [value]) as [Address, number][];
    return ranges.map(([address, bits]) => ({ label: RANGE_NAMES[name] ?? name, address, bits }));
  });
});
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
  if (text.length > MAX_INPUT) throw new InvalidInput(`"${shown(text)}"${where} is not an IP address or CIDR range (too long)`, 'cidr');
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
      throw new InvalidInput(`"${text}"${where} ${special}: only public addresses make sense here (or pass --allow-private)`, 'cidr');
    }
  }
  const result: ParsedEntry = { network: { cidr, address: network, prefix } };
  if (network.toString() !== address.toString()) result.hostBitsWarning = `${text} has host bits set: stored as ${cidr}`;
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
  if (!('address' in reading)) throw new InvalidInput(`"${shown(text)}" is not an IP address${because(reading)}`, field);
  return unmapped(reading.address);
}

function toNetwork(cidr: string): Network {
  const [address, prefix] = ipaddr.parseCIDR(cidr);
  return { cidr, address, prefix };
}

function contains(n: Network, address: Address): boolean {
  return n.address.kind() === address.kind() && address.match(n.address, n.prefix);
}

function covers(wide: Network, narrow: Network): boolean {
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

function views(ctx: ServiceContext, accountId: number): IpEntry[] {
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
  return { address: address.toString(), allowed: entries.length === 0 || match !== undefined, matchedBy: match?.cidr ?? null, restricted: entries.length > 0 };
}

/** Parses a whole batch first: one bad entry refuses the batch, naming the entry and its line. */
function parseBatch(entries: IpEntryInput[], allowPrivate: boolean): { parsed: ParsedEntry[]; warnings: string[] } {
  if (entries.length > MAX_ENTRIES) throw new InvalidInput(`at most ${MAX_ENTRIES} entries in a list`, 'cidr');
  // An entry marked as allowed to be non-public (`ip list --plain` writes the mark) needs no --allow-private.
  const parsed = entries.map((e) => parseEntry(e.text, { allowPrivate: allowPrivate || e.allowPrivate === true, ...(e.where ? { where: e.where } : {}) }));
  return { parsed, warnings: parsed.flatMap((p) => (p.hostBitsWarning ? [p.hostBitsWarning] : [])) };
}

function familyWarnings(list: Network[]): string[] {
  const v4 = list.some((n) => n.address.kind() === 'ipv4');
  const v6 = list.some((n) => n.address.kind() === 'ipv6');
  if (v4 && !v6) return ['the list has IPv4 entries and no IPv6: every IPv6 address is locked out (the seed: define both if you have IPv6)'];
  if (v6 && !v4) return ['the list has IPv6 entries and no IPv4: every IPv4 address is locked out (the seed: define both)'];
  return [];
}

/**
 * A leaked token must not lock its owner out (issue #15): with an access token the list may only grow,
 * so a token may add entries to a list that already has some (every address allowed before stays
 * allowed). Starting a restriction (adding to an empty list allows only the new entries), removing,
 * replacing, clearing and --force need a signed-in session, which confirms the owner's identity.
 */
function onlyGrowsWithToken(auth: Auth, what: string | undefined): void {
  if (!auth.viaToken || what === undefined) return;
  throw new Forbidden(`with an access token the IP list can only grow: ${what} needs a signed-in session (\`acctsec login\`)`, 'session_required');
}

/** The lock-out guard: a change that would leave the client's own address outside a non-empty list. */
function guard(list: Network[], options: IpChangeOptions, origin: RequestOrigin): void {
  const raw = origin.ip ?? options.currentIp;
  if (!raw || options.force || list.length === 0) return;
  const address = parseAddress(raw, '--current-ip');
  if (!list.some((n) => contains(n, address))) {
    throw new Forbidden(`this change would lock out your current address ${address.toString()}: add it too, or pass --force`);
  }
}

async function apply(
  ctx: ServiceContext,
  auth: Auth,
  next: Network[],
  change: Omit<IpChange, 'entries' | 'warnings'> & { warnings: string[] },
  event: string,
  origin: RequestOrigin,
): Promise<IpChange> {
  const now = ctx.now();
  const before = new Map(listIpEntries(ctx.db, auth.account.id).map((r) => [r.cidr, r.created_at]));
  ctx.db
    .transaction(() => {
      replaceIpEntries(ctx.db, auth.account.id, next.map((n) => ({ cidr: n.cidr, created_at: before.get(n.cidr) ?? now })));
      recordActivity(ctx, auth.account.id, event, {
        origin,
        sessionId: auth.session.id,
        detail: { added: change.added, removed: change.removed, entries: next.length },
      });
    })
    .immediate();
  await notifySecurity(ctx, auth.account, securityNotice(ctx, auth.account, `your IP allow-list was changed (${next.length} entr${next.length === 1 ? 'y' : 'ies'} now)`, origin));
  return { ...change, warnings: [...change.warnings, ...familyWarnings(next)], entries: views(ctx, auth.account.id) };
}

/** `ip add`: new entries join the list; duplicates and entries already covered are reported, not stored. */
export async function addIp(
  ctx: ServiceContext,
  auth: Auth,
  inputs: IpEntryInput[],
  options: IpChangeOptions,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<IpChange> {
  if (inputs.length === 0) throw new InvalidInput('give at least one address or CIDR range (or -f FILE)', 'cidr');
  const { parsed, warnings } = parseBatch(inputs, options.allowPrivate);
  let list = listIpEntries(ctx.db, auth.account.id).map((e) => toNetwork(e.cidr));
  onlyGrowsWithToken(auth, options.force ? '--force' : list.length === 0 ? 'starting a restriction (the list is empty)' : undefined);
  const added: string[] = [];
  const skipped: { cidr: string; reason: string }[] = [];
  for (const { network } of parsed) {
    const wider = list.find((n) => covers(n, network));
    if (wider) {
      skipped.push({ cidr: network.cidr, reason: wider.cidr === network.cidr ? 'already in the list' : `already covered by ${wider.cidr}` });
      continue;
    }
    const narrower = list.filter((n) => covers(network, n));
    for (const n of narrower) skipped.push({ cidr: n.cidr, reason: `replaced by the wider ${network.cidr}` });
    list = [...list.filter((n) => !narrower.includes(n)), network];
    added.push(network.cidr);
  }
  guard(list, options, origin);
  await confirmIdentity(ctx, auth, proof, origin);
  if (added.length === 0) return { added, removed: [], skipped, warnings: [...warnings, ...familyWarnings(list)], entries: views(ctx, auth.account.id) };
  const removed = skipped.filter((s) => s.reason.startsWith('replaced')).map((s) => s.cidr);
  return apply(ctx, auth, list, { added, removed, skipped, warnings }, 'ip.added', origin);
}

/** `ip remove`: every entry must be in the list, or nothing is removed. */
export async function removeIp(
  ctx: ServiceContext,
  auth: Auth,
  inputs: IpEntryInput[],
  options: IpChangeOptions,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<IpChange> {
  onlyGrowsWithToken(auth, 'removing entries');
  if (inputs.length === 0) throw new InvalidInput('give at least one address or CIDR range to remove', 'cidr');
  // Removing needs no public-address check: a private entry stored with --allow-private must be removable.
  const { parsed } = parseBatch(inputs, true);
  const list = listIpEntries(ctx.db, auth.account.id).map((e) => toNetwork(e.cidr));
  const gone = parsed.map((p) => p.network.cidr);
  const missing = gone.find((c) => !list.some((n) => n.cidr === c));
  if (missing) throw new NotFound(`${missing} is not in the list; see \`acctsec ip list\``);
  const next = list.filter((n) => !gone.includes(n.cidr));
  guard(next, options, origin);
  await confirmIdentity(ctx, auth, proof, origin);
  return apply(ctx, auth, next, { added: [], removed: gone, skipped: [], warnings: [] }, 'ip.removed', origin);
}

/** `ip set`: the whole list replaced at once (one transaction). */
export async function setIp(
  ctx: ServiceContext,
  auth: Auth,
  inputs: IpEntryInput[],
  options: IpChangeOptions,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<IpChange> {
  onlyGrowsWithToken(auth, 'replacing the list');
  const { parsed, warnings } = parseBatch(inputs, options.allowPrivate);
  const next: Network[] = [];
  const skipped: { cidr: string; reason: string }[] = [];
  for (const { network } of parsed) {
    const wider = next.find((n) => covers(n, network)) ?? parsed.map((p) => p.network).find((n) => n.cidr !== network.cidr && covers(n, network));
    if (wider) skipped.push({ cidr: network.cidr, reason: wider.cidr === network.cidr ? 'listed twice' : `covered by ${wider.cidr}` });
    else next.push(network);
  }
  guard(next, options, origin);
  await confirmIdentity(ctx, auth, proof, origin);
  const old = listIpEntries(ctx.db, auth.account.id).map((e) => e.cidr);
  const added = next.map((n) => n.cidr).filter((c) => !old.includes(c));
  const removed = old.filter((c) => !next.some((n) => n.cidr === c));
  return apply(ctx, auth, next, { added, removed, skipped, warnings }, 'ip.replaced', origin);
}

/** Support's `admin ip clear` (admin.ts checks who may and audits it): inside its transaction. */
export function clearIpBySupport(ctx: ServiceContext, account: AccountRow, by: string, origin: RequestOrigin): void {
  const removed = listIpEntries(ctx.db, account.id).map((e) => e.cidr);
  replaceIpEntries(ctx.db, account.id, []);
  recordActivity(ctx, account.id, 'ip.cleared_by_support', { origin, detail: { by, removed } });
}

export async function clearIp(ctx: ServiceContext, auth: Auth, proof: IdentityProof | undefined, origin: RequestOrigin): Promise<IpChange> {
  onlyGrowsWithToken(auth, 'clearing the list');
  const old = listIpEntries(ctx.db, auth.account.id).map((e) => e.cidr);
  await confirmIdentity(ctx, auth, proof, origin);
  if (old.length === 0) return { added: [], removed: [], skipped: [], warnings: [], entries: [] };
  return apply(ctx, auth, [], { added: [], removed: old, skipped: [], warnings: [] }, 'ip.cleared', origin);
}
