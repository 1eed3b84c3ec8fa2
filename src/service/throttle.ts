import { AuthFailed, retryPhrase, Throttled } from '../errors.js';
import type { Db } from '../store/db.js';
import {
  clearThrottles,
  countThrottled,
  finishThrottle,
  getThrottle,
  purgeThrottles,
  reserveThrottle,
  resetThrottle,
} from '../store/throttles.js';
import { addressGroup } from '../ip-address.js';
import { FREE_FAILURES } from './policy.js';

// Failure counters live in the store, so every process using the file (and the server) shares them.
//
// Issue #15: only a *completed* wrong check counts as a failure, so parallel right answers are never
// refused for failures they did not make. What stops parallel guesses from multiplying is a
// reservation: a check may start only while the failures so far plus the checks already in flight
// stay under the allowance (the free failures left before the delay, or one try once a delay has run
// out), and never more than MAX_IN_FLIGHT at once. Reservations are in the store row too, so this holds
// across processes, not only inside one. A check that may not start yet waits for a turn (a finished
// check in this process wakes it at once; another process's is seen by polling), at most WAIT_MS,
// then is refused with exit 6. Whatever the parallelism, no more than FREE_FAILURES wrong checks can
// complete before the first delay.

const BASE_DELAY_MS = 30_000;
export const MAX_DELAY_MS = 60 * 60_000;
/** Checks of one throttle key running at once (each may be an argon2 hash of 19 MiB). */
export const MAX_IN_FLIGHT = 3;
/** How long a check waits for its turn before it is refused. */
export const WAIT_MS = 10_000;
const POLL_MS = 25;
/** A reservation older than this is from a process that died mid-check: no check lasts this long. */
const STALE_RESERVATION_MS = 60_000;
/** Expired rows purged per failure written. */
const PURGE_BATCH = 100;

/**
 * Failures an account takes from every address together before its account-wide delay starts, on top
 * of FREE_FAILURES per address group (see signInThrottle).
 */
export const ACCOUNT_FREE_FAILURES = 50;

/**
 * A throttle key, or one with an allowance of its own; a list is checked as one, each key in turn
 * (all must give a turn, a wrong check counts in all, a right one starts all over).
 */
export type Throttle = string | { key: string; free: number } | Throttle[];

/** No delay for the first 5 failures (`free`); then 30 s, doubling with each further failure, at most 1 hour. */
export function delayAfter(failures: number, free = FREE_FAILURES): number {
  if (failures < free) return 0;
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (failures - free));
}

/** How many checks may be in flight after `failures` completed wrong ones. */
export function checksAllowed(failures: number, free = FREE_FAILURES): number {
  return failures < free ? Math.min(MAX_IN_FLIGHT, free - failures) : 1;
}

/** How long the delay on this row still runs (0: none). */
function delayLeft(row: { failures: number; last_failure_at: number }, free: number, at: number): number {
  const delay = delayAfter(row.failures, free);
  return delay > 0 && row.last_failure_at + delay > at ? row.last_failure_at + delay - at : 0;
}

/** The delay still running on a key, read without the lock (what was committed). */
function runningDelay(db: Db, key: string, free: number, at: number): number {
  const row = getThrottle(db, key);
  return row ? delayLeft(row, free, at) : 0;
}

type Turn = { go: true } | { go: false; throttledMs?: number };

/** One look at the row, in a write transaction: refused (a delay runs), a turn taken, or busy. */
function tryTurn(db: Db, key: string, free: number, now: () => number): Turn {
  // A look without the lock first: while the row says every turn is taken, a waiter polls without
  // taking the writers' lock (on PostgreSQL one lock for every instance: waiting sign-ins polling it
  // every 25 ms would crowd out the writes). A turn is only ever taken under the lock, below.
  // The same look refuses while a delay runs: a throttled guesser's requests take no lock at all.
  const seen = getThrottle(db, key);
  if (seen) {
    const at = now();
    const waitMs = delayLeft(seen, free, at);
    if (waitMs > 0) return { go: false, throttledMs: waitMs };
    const inFlight = at - seen.in_flight_since < STALE_RESERVATION_MS ? seen.in_flight : 0;
    if (inFlight >= checksAllowed(seen.failures, free)) return { go: false };
  }
  return db
    .transaction((): Turn => {
      // Read the clock inside the write lock: a time taken before waiting for it would be stale.
      const at = now();
      const row = getThrottle(db, key);
      const failures = row?.failures ?? 0;
      const delay = delayAfter(failures, free);
      if (row && delay > 0 && row.last_failure_at + delay > at)
        return { go: false, throttledMs: row.last_failure_at + delay - at };
      const inFlight = row && at - row.in_flight_since < STALE_RESERVATION_MS ? row.in_flight : 0;
      if (inFlight >= checksAllowed(failures, free)) return { go: false };
      reserveThrottle(db, key, inFlight, at);
      return { go: true };
    })
    .immediate();
}

function refusal(what: string, waitMs: number, at: number): Throttled {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const until = new Date(at + waitMs).toISOString().slice(11, 19);
  return new Throttled(`too many failed ${what}; try again in ${retryPhrase(seconds)} (after ${until} UTC)`, seconds);
}

/** Waiters of this process by key: a finished check wakes them without waiting for the next poll. */
const waiters = new Map<string, Set<() => void>>();

function nextTurn(key: string): Promise<void> {
  return new Promise((resolve) => {
    let set = waiters.get(key);
    if (!set) waiters.set(key, (set = new Set()));
    const wake = (): void => {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0 && waiters.get(key) === set) waiters.delete(key);
      resolve();
    };
    const timer = setTimeout(wake, POLL_MS);
    set.add(wake);
  });
}

function wakeWaiters(key: string): void {
  for (const wake of [...(waiters.get(key) ?? [])]) wake();
}

/**
 * Runs `check` under the throttle `key`: refused at once while a delay runs; otherwise it waits for a
 * turn (see above), runs, and counts as a failure only if it ends in AuthFailed (a wrong password or
 * code). A success starts the count over. Any other error (bad input, a store fault) counts nothing.
 */
export async function throttledCheck<T>(
  db: Db,
  throttle: Throttle,
  now: () => number,
  what: string,
  check: () => Promise<T> | T,
): Promise<T> {
  if (Array.isArray(throttle)) {
    // A delay running on any key refuses before a turn is taken on the others (each turn is two writes).
    for (const t of throttle.flat(Infinity as 1) as (string | { key: string; free: number })[]) {
      const { key, free } = typeof t === 'string' ? { key: t, free: FREE_FAILURES } : t;
      const waitMs = runningDelay(db, key, free, now());
      if (waitMs > 0) throw refusal(what, waitMs, now());
    }
    const [first, ...rest] = throttle;
    if (first === undefined) return check();
    return rest.length === 0
      ? throttledCheck(db, first, now, what, check)
      : throttledCheck(db, first, now, what, () => throttledCheck(db, rest, now, what, check));
  }
  const { key, free } = typeof throttle === 'string' ? { key: throttle, free: FREE_FAILURES } : throttle;
  const giveUpAt = Date.now() + WAIT_MS;
  for (;;) {
    const turn = tryTurn(db, key, free, now);
    if (turn.go) break;
    if (turn.throttledMs !== undefined) throw refusal(what, turn.throttledMs, now());
    if (Date.now() >= giveUpAt) {
      throw new Throttled(`too many ${what} at once; try again in a few seconds`, 5);
    }
    await nextTurn(key);
  }
  let outcome: 'right' | 'wrong' | 'neither' = 'neither';
  try {
    const result = await check();
    outcome = 'right';
    return result;
  } catch (err) {
    if (err instanceof AuthFailed) outcome = 'wrong';
    throw err;
  } finally {
    const at = now();
    db.transaction(() => {
      finishThrottle(db, key, outcome === 'wrong', at);
      if (outcome === 'right') resetThrottle(db, key);
      // Opportunistic expiry (issue #15): a row whose last failure is older than the longest delay
      // restricts nothing any more.
      if (outcome === 'wrong') purgeThrottles(db, at - MAX_DELAY_MS, at - STALE_RESERVATION_MS, PURGE_BATCH);
    }).immediate();
    wakeWaiters(key);
  }
}

// One throttle per flow (issue #15), so that filling one never blocks another: an outsider who knows
// only a username can fill the password's and the recovery's, never the second factor's at sign-in
// (reached only after the right password) nor a session's identity confirmation.

/**
 * The password at sign-in, per username (known or not, so the throttle reveals nothing). Over the
 * network, per username *and address group* (an IPv4 address, an IPv6 /64): someone who knows only a
 * username and guesses from a few addresses delays only those addresses, never the owner's sign-in
 * from elsewhere (issue #15 review: one guess an hour per username kept the owner out for good, and
 * `admin unthrottle` held only until the next guess). An account-wide count with a larger allowance
 * (ACCOUNT_FREE_FAILURES) still bounds guesses spread over many addresses. Local sign-ins have no
 * address: one count per username, as before.
 */
export function signInThrottle(username: string, ip?: string): Throttle {
  return perAddress('signin', username, ip);
}

/** The keys of a per-address flow: the local one, the account-wide one, and the start of every address group's. */
function flowKeys(flow: string, username: string): { local: string; all: string; groupPrefix: string } {
  return { local: `${flow}:${username}`, all: `${flow}-all:${username}`, groupPrefix: `${flow}:${username}@` };
}

function perAddress(flow: string, username: string, ip: string | undefined): Throttle {
  const k = flowKeys(flow, username);
  if (!ip) return k.local;
  return [{ key: k.all, free: ACCOUNT_FREE_FAILURES }, `${k.groupPrefix}${addressGroup(ip)}`];
}

/** The second factor at sign-in, after the right password. */
export function signInCodeThrottleKey(accountId: number): string {
  return `signin-code:${accountId}`;
}

/** Identity confirmation (password or code) inside one signed-in session. */
export function confirmThrottleKey(accountId: number, sessionId: string): string {
  return `${confirmThrottlePrefix(accountId)}${sessionId}`;
}

export function confirmThrottlePrefix(accountId: number): string {
  return `confirm:${accountId}:`;
}

/** `acctsec recover` by code or key, per username (known or not) and, over the network, address group, as signInThrottle. */
export function recoveryThrottle(username: string, ip?: string): Throttle {
  return perAddress('recover', username, ip);
}

/** Every throttle of an account, one per flow (and address group): what `admin unthrottle` clears. */
function accountThrottles(account: { id: number; username: string }): { keys: string[]; prefixes: string[] } {
  const signin = flowKeys('signin', account.username);
  const recover = flowKeys('recover', account.username);
  return {
    keys: [signin.local, signin.all, signInCodeThrottleKey(account.id), recover.local, recover.all],
    // Usernames are [a-z0-9._-]: `alice@` never starts another account's key.
    prefixes: [signin.groupPrefix, recover.groupPrefix, confirmThrottlePrefix(account.id)],
  };
}

/** How many of an account's throttles hold failures. */
export function countAccountThrottles(db: Db, account: { id: number; username: string }): number {
  const { keys, prefixes } = accountThrottles(account);
  return countThrottled(db, keys, prefixes);
}

export function clearAccountThrottles(db: Db, account: { id: number; username: string }): void {
  const { keys, prefixes } = accountThrottles(account);
  clearThrottles(db, keys, prefixes);
}
