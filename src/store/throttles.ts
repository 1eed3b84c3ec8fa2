import { sql, type Db } from './db.js';

export interface ThrottleRow {
  key: string;
  failures: number;
  last_failure_at: number;
  /** Checks started and not yet finished (a reservation each); see service/throttle.ts. */
  in_flight: number;
  /** When the latest reservation was taken: reservations older than a check can last are void. */
  in_flight_since: number;
}

export function getThrottle(db: Db, key: string): ThrottleRow | undefined {
  return sql(db, 'SELECT * FROM throttles WHERE key = ?').get(key) as ThrottleRow | undefined;
}

/** Takes a reservation for a check, `inFlight` being the live reservations the caller counted. */
export function reserveThrottle(db: Db, key: string, inFlight: number, now: number): void {
  sql(
    db,
    `INSERT INTO throttles (key, failures, last_failure_at, in_flight, in_flight_since) VALUES (?, 0, 0, 1, ?)
     ON CONFLICT (key) DO UPDATE SET in_flight = ?, in_flight_since = excluded.in_flight_since`,
  ).run(key, now, inFlight + 1);
}

/** A finished check gives its reservation back; a wrong one also counts a failure. */
export function finishThrottle(db: Db, key: string, failed: boolean, now: number): void {
  if (failed) {
    sql(
      db,
      `INSERT INTO throttles (key, failures, last_failure_at) VALUES (?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET failures = throttles.failures + 1, last_failure_at = excluded.last_failure_at,
         in_flight = CASE WHEN throttles.in_flight > 0 THEN throttles.in_flight - 1 ELSE 0 END`,
    ).run(key, now);
  } else {
    sql(db, 'UPDATE throttles SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE key = ?').run(
      key,
    );
  }
}

/** A right answer: the count starts over; the row goes once no other check holds a reservation. */
export function resetThrottle(db: Db, key: string): void {
  sql(db, 'UPDATE throttles SET failures = 0, last_failure_at = 0 WHERE key = ?').run(key);
  sql(db, 'DELETE FROM throttles WHERE key = ? AND in_flight = 0').run(key);
}

/**
 * Rows whose last failure is older than `failedBefore` and that hold no live reservation (none, or
 * only ones taken before `reservedBefore`): at most `limit` a call, so a write never does unbounded work.
 */
export function purgeThrottles(db: Db, failedBefore: number, reservedBefore: number, limit: number): number {
  return sql(
    db,
    `DELETE FROM throttles WHERE key IN (
       SELECT key FROM throttles WHERE last_failure_at < ? AND (in_flight = 0 OR in_flight_since < ?) LIMIT ?)`,
  ).run(failedBefore, reservedBefore, limit).changes;
}

/** Every throttle of the given keys and key prefixes (`admin unthrottle`). */
export function clearThrottles(db: Db, keys: string[], prefixes: string[]): void {
  for (const key of keys) sql(db, 'DELETE FROM throttles WHERE key = ?').run(key);
  // substr, not LIKE: a key may hold `_` or `%`, which LIKE would read as wildcards.
  for (const prefix of prefixes)
    sql(db, 'DELETE FROM throttles WHERE substr(key, 1, ?) = ?').run(prefix.length, prefix);
}

/** The throttle keys among `keys` and under `prefixes` that hold failures (for `admin unthrottle --dry-run`). */
export function countThrottled(db: Db, keys: string[], prefixes: string[]): number {
  let n = 0;
  for (const key of keys)
    n += (sql(db, 'SELECT count(*) AS n FROM throttles WHERE key = ? AND failures > 0').get(key) as { n: number }).n;
  for (const prefix of prefixes) {
    n += (
      sql(db, 'SELECT count(*) AS n FROM throttles WHERE substr(key, 1, ?) = ? AND failures > 0').get(
        prefix.length,
        prefix,
      ) as { n: number }
    ).n;
  }
  return n;
}
