import { retryPhrase, Throttled } from '../errors.js';
import type { Db } from '../store/db.js';
import { addThrottleFailure, clearThrottle, getThrottle } from '../store/throttles.js';
import { FREE_FAILURES } from './policy.js';

// Failure counters live in the store, so every process using the file (and the server) shares them.

const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 60 * 60_000;

/** No delay for the first 5 failures; then 30 s, doubling with each further failure, at most 1 hour. */
export function delayAfter(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (failures - FREE_FAILURES));
}

/**
 * Takes one attempt under `key`: refused while the delay runs, otherwise counted as a failure *before*
 * the (slow) check runs, so parallel guesses cannot all slip in ahead of the first recorded failure.
 * A success calls `releaseAttempts`.
 */
export function takeAttempt(db: Db, key: string, now: () => number, what: string): void {
  db.transaction(() => {
    // Read the clock inside the write lock: a time taken before waiting for it would be stale.
    const at = now();
    const row = getThrottle(db, key);
    const delay = row ? delayAfter(row.failures) : 0;
    if (row && delay > 0) {
      const waitMs = row.last_failure_at + delay - at;
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        const until = new Date(at + waitMs).toISOString().slice(11, 19);
        throw new Throttled(`too many failed ${what}; try again in ${retryPhrase(seconds)} (after ${until} UTC)`, seconds);
      }
    }
    addThrottleFailure(db, key, at);
  }).immediate();
}

export function releaseAttempts(db: Db, key: string): void {
  clearThrottle(db, key);
}
