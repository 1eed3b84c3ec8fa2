import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFound, Unavailable } from '../../src/errors.js';
import { migrate, openStore } from '../../src/store/db.js';

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

  it('applies every numbered migration once and records the last in user_version', () => {
    const files = readdirSync(new URL('../../src/store/migrations/', import.meta.url)).filter((f) =>
      f.endsWith('.sql'),
    );
    files.forEach((f, i) => expect(f.startsWith(String(i + 1).padStart(3, '0') + '_'), f).toBe(true));
    const db = openStore(':memory:', { create: true });
    expect(db.pragma('user_version', { simple: true })).toBe(files.length);
    migrate(db); // a second run changes nothing and does not fail
    expect(db.pragma('user_version', { simple: true })).toBe(files.length);
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
});
