import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openStore, type Db } from '../../src/store/db.js';
import { pruneOAuthPayloads, upsertOAuthPayload } from '../../src/store/oauth-payloads.js';
import { freshSchema, PG_TEST_URL } from '../pg.js';

// Expired OAuth rows are deleted in bounded batches, oldest first (an outside review: one DELETE of a
// whole backlog held the writers' lock, on PostgreSQL shared by every instance, for as long as it ran).

function fill(db: Db, n: number, expiresAt: (i: number) => number | null): void {
  db.transaction(() => {
    for (let i = 0; i < n; i++)
      upsertOAuthPayload(db, {
        model: 'Interaction',
        id_hash: createHash('sha256').update(`row ${i}`).digest(),
        payload: Buffer.from('{}'),
        grant_id: null,
        user_code_hash: null,
        uid: null,
        client_id: null,
        account_id: null,
        expires_at: expiresAt(i),
        consumed_at: null,
      });
  })();
}

const stores: [string, () => { db: Db; done: () => void }][] = [
  ['SQLite', () => ({ db: openStore(':memory:', { create: true }), done: () => undefined })],
  ...(PG_TEST_URL
    ? [
        [
          'PostgreSQL',
          () => {
            const s = freshSchema();
            const db = openStore(s.url, { create: true });
            return {
              db,
              done: () => {
                db.close();
                s.drop();
              },
            };
          },
        ] as [string, () => { db: Db; done: () => void }],
      ]
    : []),
];

describe.each(stores)('pruning expired OAuth payloads (%s)', (_name, open) => {
  it('deletes at most a batch, the oldest first, and never a live row or one without an expiry', () => {
    const { db, done } = open();
    try {
      // 25 expired (times 1..25), 5 live (far future), 3 without expiry.
      fill(db, 33, (i) => (i < 25 ? i + 1 : i < 30 ? 10_000 : null));
      const left = () => db.prepare('SELECT expires_at FROM oauth_payloads ORDER BY expires_at').pluck().all();
      expect(pruneOAuthPayloads(db, 1000, 10)).toBe(10);
      expect((left() as (number | null)[]).filter((e) => e !== null && e <= 1000)).toEqual(
        Array.from({ length: 15 }, (_, i) => i + 11),
      );
      expect(pruneOAuthPayloads(db, 1000, 10)).toBe(10);
      expect(pruneOAuthPayloads(db, 1000, 10)).toBe(5);
      expect(pruneOAuthPayloads(db, 1000, 10)).toBe(0);
      expect(left()).toHaveLength(8);
    } finally {
      done();
    }
  });
});
