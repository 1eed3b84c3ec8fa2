import { describe, expect, it } from 'vitest';
import { queryAudit, type AuditRow } from '../../src/store/admin.js';
import { openStore, type Db } from '../../src/store/db.js';

// `admin audit --user/--actor/--since` (issue #19 §3): each filter reads through an index (migration
// 011) in the listing's order, instead of scanning the whole log and sorting it.

type Filter = Parameters<typeof queryAudit>[1];

/** The SQL queryAudit prepares for a filter, caught on its way to better-sqlite3. */
function sqlOf(db: Db, filter: Filter): string {
  const seen: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = (text: string) => (seen.push(text), prepare(text));
  try {
    queryAudit(db, filter);
  } finally {
    db.prepare = prepare;
  }
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

function plan(db: Db, filter: Filter): string[] {
  const params: Record<string, unknown> = { limit: filter.limit };
  for (const k of ['target', 'actor', 'since'] as const) if (filter[k] !== undefined) params[k] = filter[k];
  return (db.prepare(`EXPLAIN QUERY PLAN ${sqlOf(db, filter)}`).all(params) as { detail: string }[]).map(
    (r) => r.detail,
  );
}

/** A log of `n` rows, written as the tool writes them: in id order, the time never going back. */
function logOf(n: number): Db {
  const db = openStore(':memory:', { create: true });
  const insert = db.prepare(
    "INSERT INTO audit_log (id, at, actor, target, action, reason, outcome, ip, detail, prev_hash, hash, chain) VALUES (?, ?, ?, ?, 'lock', 'r', 'ok', NULL, NULL, '', '', 'hmac-sha256')",
  );
  db.transaction(() => {
    // Some rows share a millisecond: ties are broken by sequence.
    for (let id = 1; id <= n; id++)
      insert.run(id, 1_000_000 + Math.floor(id / 3) * 1000, `staff${id % 7}`, `user${id % 50}`);
  })();
  return db;
}

const FILTERS: [string, Filter][] = [
  ['--user', { target: 'user7', limit: 50 }],
  ['--actor', { actor: 'staff3', limit: 50 }],
  ['--since', { since: 1_500_000, limit: 50 }],
  ['--user --since', { target: 'user7', since: 1_500_000, limit: 50 }],
  ['--actor --since', { actor: 'staff3', since: 1_500_000, limit: 50 }],
  ['--user --actor', { target: 'user7', actor: 'staff0', limit: 50 }],
  ['--user --actor --since', { target: 'user7', actor: 'staff0', since: 1_500_000, limit: 50 }],
];

describe('the audit listing', () => {
  it.each(FILTERS)('%s reads through an index in the listing order: no table scan, no sort', (_name, filter) => {
    const db = logOf(2000);
    const steps = plan(db, filter);
    expect(steps.join('\n')).toMatch(/^SEARCH audit_log USING INDEX audit_log_by_(target|actor)?_?at \(/);
    expect(steps.join('\n')).not.toMatch(/SCAN audit_log|TEMP B-TREE/);
    db.close();
  });

  it('answers every filter as a scan of the whole log would: newest first, at most the limit', () => {
    const db = logOf(3000);
    const all = (db.prepare('SELECT * FROM audit_log').all() as AuditRow[]).reverse();
    for (const [name, filter] of [...FILTERS, ['none', { limit: 40 }] as [string, Filter]]) {
      for (const limit of [1, 7, 5000]) {
        const expected = all
          .filter(
            (r) =>
              (filter.target === undefined || r.target === filter.target) &&
              (filter.actor === undefined || r.actor === filter.actor) &&
              (filter.since === undefined || r.at >= filter.since),
          )
          .slice(0, limit)
          .map((r) => r.id);
        expect(
          queryAudit(db, { ...filter, limit }).map((r) => r.id),
          `${name} limit ${limit}`,
        ).toEqual(expected);
      }
    }
    db.close();
  });
});
