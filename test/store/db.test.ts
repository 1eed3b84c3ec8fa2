import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFound, Unavailable } from '../../src/errors.js';
import { checkStoreFile, fileIdentity, migrate, openStore, storeError } from '../../src/store/db.js';
import { openReader } from '../../src/store/reader.js';

describe('the SQLite store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'acctsec-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the file 0600 in a new 0700 folder, in WAL mode with foreign keys on', () => {
    const path = join(dir, 'new', 'acctsec.db');
    const db = openStore(path, { create: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'new')).mode & 0o777).toBe(0o700);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
    db.prepare("INSERT INTO meta VALUES ('k', 'v')").run();
    for (const f of readdirSync(join(dir, 'new'))) expect(statSync(join(dir, 'new', f)).mode & 0o077, f).toBe(0);
    db.close();
  });

  it('applies every numbered migration once and records the highest number in user_version', () => {
    const files = readdirSync(new URL('../../src/store/migrations/', import.meta.url))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const numbers = files.map((f) => Number(/^(\d{3})_/.exec(f)?.[1]));
    // Every file is numbered, and no two share a number.
    expect(
      numbers.every((n) => Number.isInteger(n) && n > 0),
      files.join(' '),
    ).toBe(true);
    expect(new Set(numbers).size).toBe(numbers.length);
    const highest = Math.max(...numbers);
    const db = openStore(':memory:', { create: true });
    expect(db.pragma('user_version', { simple: true })).toBe(highest);
    migrate(db); // a second run changes nothing and does not fail
    expect(db.pragma('user_version', { simple: true })).toBe(highest);
    db.close();
  });

  it('a missing file is "not found" unless asked to create it', () => {
    expect(() => openStore(join(dir, 'none.db'), { create: false })).toThrow(NotFound);
  });

  it('a file that is not a database is "unavailable", never a crash', () => {
    const path = join(dir, 'junk.db');
    writeFileSync(path, 'x'.repeat(8192));
    expect(() => openStore(path, { create: false })).toThrow(Unavailable);
  });

  it('a database that cannot grow (SQLITE_FULL) is exit 8 naming the file and the full disk (issue #19)', () => {
    const path = join(dir, 'acctsec.db');
    const db = openStore(path, { create: true });
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    let caught: unknown;
    try {
      db.prepare('INSERT INTO meta VALUES (?, ?)').run('big', 'x'.repeat(100_000));
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).toBe('SQLITE_FULL');
    const mapped = storeError(caught, path);
    expect(mapped).toBeInstanceOf(Unavailable);
    expect(mapped.message).toContain(path);
    expect(mapped.message).toContain('no space left on device');
    db.close();
  });

  it('notices its file removed or replaced, and stays refused (issue #19)', () => {
    const path = join(dir, 'acctsec.db');
    const db = openStore(path, { create: true });
    checkStoreFile(db);
    const other = openStore(join(dir, 'other.db'), { create: true });
    other.close();
    renameSync(join(dir, 'other.db'), path);
    expect(() => checkStoreFile(db)).toThrow(/was replaced by another file/);
    db.close();
    const removed = openStore(join(dir, 'b.db'), { create: true });
    rmSync(join(dir, 'b.db'));
    expect(() => checkStoreFile(removed)).toThrow(/was removed/);
    // Put back, it is still refused: writes in between may have gone to the unlinked file.
    writeFileSync(join(dir, 'b.db'), '');
    expect(() => checkStoreFile(removed)).toThrow(/was removed/);
    removed.close();
  });

  it("a reader (the audit worker's) opened by path refuses a file other than the writer's (issue #19 review)", () => {
    const path = join(dir, 'acctsec.db');
    const db = openStore(path, { create: true });
    const same = fileIdentity(db)!;
    openReader(path, same).close();
    const other = openStore(join(dir, 'other.db'), { create: true });
    other.close();
    renameSync(join(dir, 'other.db'), path);
    expect(() => openReader(path, same)).toThrow(/was removed or replaced while it was open/);
    rmSync(path);
    expect(() => openReader(path, same)).toThrow(Unavailable);
    db.close();
  });
});
