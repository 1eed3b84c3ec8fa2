import { describe, expect, it } from 'vitest';
import { Unavailable } from '../../src/errors.js';
import { isBusy, openStore, sql, storeError, writeIfFree, type Db } from '../../src/store/db.js';
import { openReader } from '../../src/store/reader.js';
import { PgDatabase, translate } from '../../src/store/pg.js';
import { execOn, freshSchema, PG_TEST_URL } from '../pg.js';

// The PostgreSQL adapter (issue #22): what the store relies on from better-sqlite3, given the same way.

describe('placeholders', () => {
  it('? and @name become $n outside quotes and comments; reads are told from writes', () => {
    expect(translate("SELECT '?', a FROM t WHERE b = ? AND c = ? -- why?\n").text).toBe(
      "SELECT '?', a FROM t WHERE b = $1 AND c = $2 -- why?\n",
    );
    const t = translate('UPDATE t SET a = @a, b = @b WHERE a = @a');
    expect(t.text).toBe('UPDATE t SET a = $1, b = $2 WHERE a = $1');
    expect(t.names).toEqual(['a', 'b']);
    expect(t.reads).toBe(false);
    expect(translate('SELECT 1').reads).toBe(true);
    expect(translate('INSERT INTO t (a) VALUES (?) RETURNING id').reads).toBe(false);
    expect(() => translate('SELECT ? , @a')).toThrow(/mixes/);
  });
});

describe.runIf(PG_TEST_URL)('PostgreSQL adapter', () => {
  function withStore(fn: (db: Db, url: string) => void): void {
    const s = freshSchema();
    const db = openStore(s.url, { create: true });
    try {
      fn(db, s.url);
    } finally {
      db.close();
      s.drop();
    }
  }

  it('migrates an empty schema, records its version, and refuses an empty database without create', () => {
    const s = freshSchema();
    try {
      expect(() => openStore(s.url, { create: false })).toThrow(/no acctsec schema/);
      const db = openStore(s.url, { create: true });
      expect(sql(db, 'SELECT n FROM change_generation WHERE id = 1').pluck().get()).toBeTypeOf('number');
      const version = db.pragma('user_version', { simple: true }) as number;
      expect(version).toBeGreaterThanOrEqual(18);
      db.close();
      // A newer acctsec's schema is refused, not read.
      execOn(s.url, `UPDATE schema_version SET version = ${version + 1}`);
      expect(() => openStore(s.url, { create: false })).toThrow(/newer acctsec/);
    } finally {
      s.drop();
    }
  });

  it('gives values as better-sqlite3 does: integers as numbers, blobs as Buffers, booleans as 1/0', () => {
    withStore((db) => {
      db.exec('CREATE TABLE t (id BIGINT PRIMARY KEY, b BYTEA, s TEXT, n BIGINT)');
      const blob = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]);
      expect(
        db.prepare('INSERT INTO t (id, b, s, n) VALUES (?, ?, ?, ?)').run(1, blob, 'x', 1_700_000_000_000).changes,
      ).toBe(1);
      db.prepare('INSERT INTO t (id, b, s, n) VALUES (@id, @b, @s, @n)').run({ id: 2, b: null, s: undefined, n: 7 });
      const rows = db.prepare('SELECT * FROM t ORDER BY id').all() as {
        id: number;
        b: Buffer | null;
        s: string | null;
        n: number;
      }[];
      expect(rows[0]).toEqual({ id: 1, b: blob, s: 'x', n: 1_700_000_000_000 });
      expect(Buffer.isBuffer(rows[0]!.b)).toBe(true);
      expect(rows[1]).toEqual({ id: 2, b: null, s: null, n: 7 });
      expect(db.prepare('SELECT count(*) AS c, EXISTS (SELECT 1 FROM t) AS e, sum(n) AS s FROM t').get()).toEqual({
        c: 2,
        e: 1,
        s: 1_700_000_000_007,
      });
      expect(db.prepare('UPDATE t SET n = n + 1').run().changes).toBe(2);
      expect(() => db.prepare('INSERT INTO t (id) VALUES (@id)').run({})).toThrow(/Missing named parameter "id"/);
      expect(() => db.prepare('SELECT ?::bigint + 1').get(2 ** 60)).toThrow(/beyond 2\^53/);
    });
  });

  it('a failed statement carries its SQLSTATE; a transaction that throws leaves nothing', () => {
    withStore((db) => {
      db.exec('CREATE TABLE u (id BIGINT PRIMARY KEY)');
      const insert = db.prepare('INSERT INTO u (id) VALUES (?)');
      insert.run(1);
      expect(() => insert.run(1)).toThrow(expect.objectContaining({ code: '23505' }) as Error);
      expect(() =>
        db.transaction(() => {
          insert.run(2);
          insert.run(1);
        })(),
      ).toThrow(/duplicate key/);
      expect(db.prepare('SELECT id FROM u ORDER BY id').pluck().all()).toEqual([1]);
      // Nested transactions are savepoints: the inner one's failure undoes only the inner writes.
      db.transaction(() => {
        insert.run(3);
        try {
          db.transaction(() => {
            insert.run(4);
            throw new Error('inner');
          })();
        } catch {
          /* the inner part is undone */
        }
      })();
      expect(db.prepare('SELECT id FROM u ORDER BY id').pluck().all()).toEqual([1, 3]);
    });
  });

  it('a failed statement whose error was caught inside a transaction fails the commit, not silently undoes it', () => {
    withStore((db) => {
      db.exec('CREATE TABLE u (id BIGINT PRIMARY KEY)');
      const insert = db.prepare('INSERT INTO u (id) VALUES (?)');
      insert.run(1);
      // PostgreSQL aborts the whole transaction at the failed statement, and answers COMMIT with ROLLBACK:
      // the caller would believe insert 5 was saved.
      expect(() =>
        db.transaction(() => {
          insert.run(5);
          try {
            insert.run(1);
          } catch {
            /* a caller that goes on, as it may on SQLite */
          }
        })(),
      ).toThrow(expect.objectContaining({ code: '25P02' }) as Error);
      expect(db.prepare('SELECT id FROM u ORDER BY id').pluck().all()).toEqual([1]);
      // The same inside a nested transaction fails that savepoint only; the outer one goes on and commits.
      db.transaction(() => {
        insert.run(6);
        expect(() =>
          db.transaction(() => {
            insert.run(7);
            try {
              insert.run(1);
            } catch {
              /* swallowed */
            }
          })(),
        ).toThrow(/rolled back/);
      })();
      expect(db.prepare('SELECT id FROM u ORDER BY id').pluck().all()).toEqual([1, 6]);
      // The connection is usable afterwards.
      insert.run(8);
      expect(db.prepare('SELECT count(*) FROM u').pluck().get()).toBe(3);
    });
  });

  it('writers take one lock: a second connection waits for it, and gives up as busy (exit 8) past its timeout', () => {
    withStore((db, url) => {
      const other = new PgDatabase(url, { busyTimeoutMs: 300 });
      try {
        db.exec('CREATE TABLE w (id BIGINT)');
        let waited = 0;
        db.transaction(() => {
          db.prepare('INSERT INTO w (id) VALUES (1)').run();
          const started = performance.now();
          let err: unknown;
          try {
            other.prepare('INSERT INTO w (id) VALUES (2)').run();
          } catch (e) {
            err = e;
          }
          waited = performance.now() - started;
          expect(isBusy(err)).toBe(true);
          const mapped = storeError(err, url);
          expect(mapped).toBeInstanceOf(Unavailable);
          expect(mapped.message).toMatch(/is busy/);
          // A bookkeeping write does not wait for the writers' lock.
          expect(writeIfFree(other as unknown as Db, () => other.prepare('INSERT INTO w (id) VALUES (3)').run())).toBe(
            true,
          );
        })();
        expect(waited).toBeGreaterThanOrEqual(250);
        // Reads never wait for the lock.
        expect(other.prepare('SELECT id FROM w ORDER BY id').pluck().all()).toEqual([1, 3]);
      } finally {
        other.close();
      }
    });
  });

  it("writers of another schema do not wait for this schema's lock", () => {
    withStore((db) => {
      const s2 = freshSchema();
      const elsewhere = new PgDatabase(s2.url, { busyTimeoutMs: 300 });
      try {
        db.exec('CREATE TABLE w (id BIGINT)');
        elsewhere.exec('CREATE TABLE w (id BIGINT)');
        db.transaction(() => {
          db.prepare('INSERT INTO w (id) VALUES (1)').run();
          // Held off by this transaction's lock, it would give up after its 300 ms and throw.
          elsewhere.transaction(() => elsewhere.prepare('INSERT INTO w (id) VALUES (2)').run())();
        })();
        expect(elsewhere.prepare('SELECT id FROM w').pluck().all()).toEqual([2]);
      } finally {
        elsewhere.close();
        s2.drop();
      }
    });
  });

  it('a bookkeeping write skips a row another session holds, instead of stalling for lock_timeout', () => {
    withStore((db, url) => {
      db.exec('CREATE TABLE b (id BIGINT PRIMARY KEY, n BIGINT)');
      db.prepare('INSERT INTO b (id, n) VALUES (1, 0)').run();
      const other = new PgDatabase(url, { busyTimeoutMs: 10_000 });
      try {
        other.transaction(() => {
          other.prepare('UPDATE b SET n = 1 WHERE id = 1').run(); // holds the row until the end
          const started = performance.now();
          const ran = writeIfFree(db, () => db.prepare('UPDATE b SET n = 2 WHERE id = 1').run());
          expect(ran).toBe(false);
          expect(performance.now() - started).toBeLessThan(1000);
        })();
        // And the writer's own waits are back to the busy timeout afterwards.
        expect(sql(db, 'SHOW lock_timeout').pluck().get()).toBe('10s');
      } finally {
        other.close();
      }
    });
  });

  it('a lost connection is "unavailable" once, and the next statement reconnects', () => {
    withStore((db, url) => {
      const pid = sql(db, 'SELECT pg_backend_pid() AS pid').pluck().get() as number;
      execOn(url, `SELECT pg_terminate_backend(${pid})`);
      let err: unknown;
      try {
        sql(db, 'SELECT 1 AS one').get();
      } catch (e) {
        err = e;
      }
      expect(storeError(err, url)).toBeInstanceOf(Unavailable);
      expect(sql(db, 'SELECT 1 AS one').get()).toEqual({ one: 1 });
    });
  });

  it('a connection lost inside a transaction fails the whole transaction: nothing after it runs elsewhere', () => {
    withStore((db, url) => {
      db.exec('CREATE TABLE l (id BIGINT)');
      const insert = db.prepare('INSERT INTO l (id) VALUES (?)');
      expect(() =>
        db.transaction(() => {
          insert.run(1);
          const pid = sql(db, 'SELECT pg_backend_pid() AS pid').pluck().get() as number;
          execOn(url, `SELECT pg_terminate_backend(${pid})`);
          try {
            insert.run(2); // the connection is gone: this fails...
          } catch {
            /* ...and a body that swallows the failure must not go on in autocommit */
          }
          insert.run(3);
        })(),
      ).toThrow(/lost inside a transaction/);
      expect(db.prepare('SELECT id FROM l ORDER BY id').pluck().all()).toEqual([]);
      insert.run(4);
      expect(db.prepare('SELECT id FROM l ORDER BY id').pluck().all()).toEqual([4]);
    });
  });

  it("the audit worker's reader is read-only, and its transaction one snapshot", () => {
    withStore((db, url) => {
      db.exec('CREATE TABLE r (id BIGINT)');
      const reader = openReader(url);
      try {
        expect(() => reader.prepare('INSERT INTO r (id) VALUES (1)').run()).toThrow(
          expect.objectContaining({ code: '25006' }) as Error,
        );
        const seen = reader.transaction(() => {
          const before = reader.prepare('SELECT count(*) AS n FROM r').pluck().get();
          db.prepare('INSERT INTO r (id) VALUES (1)').run();
          return [before, reader.prepare('SELECT count(*) AS n FROM r').pluck().get()];
        })();
        expect(seen).toEqual([0, 0]);
        expect(reader.prepare('SELECT count(*) AS n FROM r').pluck().get()).toBe(1);
      } finally {
        reader.close();
      }
    });
  });
});
