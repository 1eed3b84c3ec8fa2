import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endClient, WRITE_LOCK_SQL, type NativeClient } from '../../src/store/pg.js';
import { freshSchema, PG_TEST_URL } from '../pg.js';
import { Home, json, PASSWORD } from './helpers.js';

// The same cases on a SQLite file and, with ACCTSEC_TEST_DATABASE, on PostgreSQL (issue #22): there
// the processes share a schema through ACCTSEC_DATABASE_URL, and "another process's write transaction"
// is a connection holding acctsec's writers' lock.

/** Holds the writers' lock (or SQLite's write lock) until release(). */
interface Holder {
  release(): void;
}

const stores: { name: string; setUp(home: Home): () => void; hold(home: Home): Holder }[] = [
  {
    name: 'SQLite',
    setUp: () => () => undefined,
    hold: (home) => {
      const other = new Database(home.dbPath);
      other.exec('BEGIN IMMEDIATE');
      return {
        release: () => {
          other.exec('COMMIT');
          other.close();
        },
      };
    },
  },
  ...(PG_TEST_URL
    ? [
        {
          name: 'PostgreSQL',
          setUp: (home: Home) => {
            const schema = freshSchema();
            home.env.ACCTSEC_DATABASE_URL = schema.url;
            return () => schema.drop();
          },
          hold: (home: Home) => {
            const Client = createRequire(import.meta.url)('pg-native') as new () => NativeClient;
            const other = new Client();
            other.connectSync(home.env.ACCTSEC_DATABASE_URL!);
            other.querySync(`BEGIN; SELECT ${WRITE_LOCK_SQL}`);
            return {
              release: () => {
                other.querySync('COMMIT');
                endClient(other);
              },
            };
          },
        },
      ]
    : []),
];

describe.each(stores)('two processes on one database ($name)', (store) => {
  let home: Home;
  let tearDown: () => void;
  beforeEach(async () => {
    home = new Home();
    tearDown = store.setUp(home);
    await home.init();
  });
  afterEach(async () => {
    await home.remove();
    tearDown();
  });

  it('concurrent sign-ins and changes all finish cleanly: no "database is locked" reaches the user', async () => {
    // Four sign-ins (each writes a session, an activity row and its throttle row), status calls (each may
    // write last_seen) and reads, all at once. Four, not more: an attempt counts against the 5-failure
    // limit until it succeeds (see README, "Security design"), so more than five parallel sign-ins of one
    // user are throttled by design.
    const logins = Array.from({ length: 4 }, (_, i) =>
      home.run(['--profile', `p${i}`, 'login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } }),
    );
    const others = Array.from({ length: 4 }, (_, i) => home.run(i % 2 ? ['activity', '--json'] : ['status', '--json']));
    const results = await Promise.all([...logins, ...others]);
    for (const r of results) {
      expect(r.stderr).not.toMatch(/locked|busy/i);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const sessions = json<unknown[]>(await home.run(['sessions', 'list', '--json']));
    expect(sessions).toHaveLength(5);
  });

  it('two password changes at once both finish cleanly (0, or 3 once the other changed it)', async () => {
    const env = (next: string) => ({ env: { ACCTSEC_PASSWORD: PASSWORD, ACCTSEC_NEW_PASSWORD: next } });
    const [a, b] = await Promise.all([
      home.run(['password', 'change'], env('first new passphrase')),
      home.run(['--profile', 'default', 'password', 'change'], env('second new passphrase')),
    ]);
    for (const r of [a, b]) expect(r.stderr).not.toMatch(/locked|busy|\n\s+at /i);
    const codes = [a.exitCode, b.exitCode].sort();
    // Both may succeed (each verified the same current password before either wrote); neither may crash.
    expect(codes.every((c) => c === 0 || c === 3)).toBe(true);
  });

  it('waits for another process\'s write transaction instead of failing with "database is locked"', async () => {
    const other = store.hold(home);
    const pending = home.run(['--profile', 'late', 'login', '--username', 'alice'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    other.release();
    const r = await pending;
    expect(r.stderr).not.toMatch(/locked|busy/i);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('codes by mail asked for at once: one is sent, not one per request (the minute between two holds across processes)', async () => {
    const outbox = join(home.env.XDG_STATE_HOME!, 'acctsec/outbox');
    const mails = (subject: string) =>
      readdirSync(outbox)
        .sort()
        .map((f) => readFileSync(join(outbox, f), 'utf8'))
        .filter((m) => m.includes('\nTo: backup@example.org\n') && m.includes(subject));
    expect((await home.run(['recovery', 'email', 'add', 'backup@example.org'])).exitCode).toBe(0);
    const code = /^ {4}(\d{6})$/m.exec(mails('Subject: acctsec:').at(-1) ?? '')?.[1];
    expect(code, 'the confirmation code').toBeDefined();
    const confirm = await home.run(['recovery', 'email', 'confirm', 'backup@example.org', '--code', code!]);
    expect(confirm.exitCode, confirm.stderr).toBe(0);
    // Another writer holds the lock while four anonymous requests start: each finds no code on its way.
    const other = store.hold(home);
    const sends = Array.from({ length: 4 }, () => home.run(['recover', '--username', 'alice', '--send-code']));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    other.release();
    for (const r of await Promise.all(sends)) expect(r.exitCode, r.stderr).toBe(0);
    expect(mails('recovery code')).toHaveLength(1);
  });
});
