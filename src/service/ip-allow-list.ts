import { Forbidden, InvalidInput, NotFound } from '../errors.js';
import type { AccountRow } from '../store/accounts.js';
import { listIpEntries, replaceIpEntries } from '../store/ip-allow-list.js';
import type { IdentityProof, IpChange, IpChangeOptions, IpEntryInput } from '../views.js';
import { recordActivity } from './activity.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import { confirmIdentity } from './identity.js';
import {
  MAX_ENTRIES,
  contains,
  covers,
  parseAddress,
  parseEntry,
  toNetwork,
  views,
  type Network,
  type ParsedEntry,
} from './ip-networks.js';
import { notifySecurity, securityNotice } from './notifications.js';
import type { Auth } from './sessions.js';

// IP restriction (SPEC §6), write side: changing the list, with identity confirmed and the owner told.

/** Parses a whole batch first: one bad entry refuses the batch, naming the entry and its line. */
function parseBatch(entries: IpEntryInput[], allowPrivate: boolean): { parsed: ParsedEntry[]; warnings: string[] } {
  if (entries.length > MAX_ENTRIES) throw new InvalidInput(`at most ${MAX_ENTRIES} entries in a list`, 'cidr');
  // An entry marked as allowed to be non-public (`ip list --plain` writes the mark) needs no --allow-private.
  const parsed = entries.map((e) =>
    parseEntry(e.text, {
      allowPrivate: allowPrivate || e.allowPrivate === true,
      ...(e.where ? { where: e.where } : {}),
    }),
  );
  return { parsed, warnings: parsed.flatMap((p) => (p.hostBitsWarning ? [p.hostBitsWarning] : [])) };
}

function familyWarnings(list: Network[]): string[] {
  const v4 = list.some((n) => n.address.kind() === 'ipv4');
  const v6 = list.some((n) => n.address.kind() === 'ipv6');
  if (v4 && !v6)
    return [
      'the list has IPv4 entries and no IPv6: every IPv6 address is locked out (the seed: define both if you have IPv6)',
    ];
  if (v6 && !v4)
    return ['the list has IPv6 entries and no IPv4: every IPv4 address is locked out (the seed: define both)'];
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
  throw new Forbidden(
    `with an access token the IP list can only grow: ${what} needs a signed-in session (\`acctsec login\`)`,
    'session_required',
  );
}

/** The lock-out guard: a change that would leave the client's own address outside a non-empty list. */
function guard(list: Network[], options: IpChangeOptions, origin: RequestOrigin): void {
  const raw = origin.ip ?? options.currentIp;
  if (!raw || options.force || list.length === 0) return;
  const address = parseAddress(raw, '--current-ip');
  if (!list.some((n) => contains(n, address))) {
    throw new Forbidden(
      `this change would lock out your current address ${address.toString()}: add it too, or pass --force`,
    );
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
      replaceIpEntries(
        ctx.db,
        auth.account.id,
        next.map((n) => ({ cidr: n.cidr, created_at: before.get(n.cidr) ?? now })),
      );
      recordActivity(ctx, auth.account.id, event, {
        origin,
        sessionId: auth.session.id,
        detail: { added: change.added, removed: change.removed, entries: next.length },
      });
    })
    .immediate();
  await notifySecurity(
    ctx,
    auth.account,
    securityNotice(
      ctx,
      auth.account,
      `your IP allow-list was changed (${next.length} entr${next.length === 1 ? 'y' : 'ies'} now)`,
      origin,
    ),
  );
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
  onlyGrowsWithToken(
    auth,
    options.force ? '--force' : list.length === 0 ? 'starting a restriction (the list is empty)' : undefined,
  );
  const added: string[] = [];
  const skipped: { cidr: string; reason: string }[] = [];
  for (const { network } of parsed) {
    const wider = list.find((n) => covers(n, network));
    if (wider) {
      skipped.push({
        cidr: network.cidr,
        reason: wider.cidr === network.cidr ? 'already in the list' : `already covered by ${wider.cidr}`,
      });
      continue;
    }
    const narrower = list.filter((n) => covers(network, n));
    for (const n of narrower) skipped.push({ cidr: n.cidr, reason: `replaced by the wider ${network.cidr}` });
    list = [...list.filter((n) => !narrower.includes(n)), network];
    added.push(network.cidr);
  }
  guard(list, options, origin);
  await confirmIdentity(ctx, auth, proof, origin);
  if (added.length === 0)
    return {
      added,
      removed: [],
      skipped,
      warnings: [...warnings, ...familyWarnings(list)],
      entries: views(ctx, auth.account.id),
    };
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
    const wider =
      next.find((n) => covers(n, network)) ??
      parsed.map((p) => p.network).find((n) => n.cidr !== network.cidr && covers(n, network));
    if (wider)
      skipped.push({
        cidr: network.cidr,
        reason: wider.cidr === network.cidr ? 'listed twice' : `covered by ${wider.cidr}`,
      });
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

export async function clearIp(
  ctx: ServiceContext,
  auth: Auth,
  proof: IdentityProof | undefined,
  origin: RequestOrigin,
): Promise<IpChange> {
  onlyGrowsWithToken(auth, 'clearing the list');
  const old = listIpEntries(ctx.db, auth.account.id).map((e) => e.cidr);
  await confirmIdentity(ctx, auth, proof, origin);
  if (old.length === 0) return { added: [], removed: [], skipped: [], warnings: [], entries: [] };
  return apply(ctx, auth, [], { added: [], removed: old, skipped: [], warnings: [] }, 'ip.cleared', origin);
}
