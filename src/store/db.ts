import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AcctsecError, NotFound, Unavailable } from '../errors.js';

export type Db = Database.Database;

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, compiled once per connection: preparing is most of a simple query's cost. */
export function sql(db: Db, text: string): Database.Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map<string, Database.Statement>()));
  let statement = byText.get(text);
  if (!statement) byText.set(text, (statement = db.prepare(text)));
  return statement;
}

/** How long a writer waits for another process's transaction before giving up (exit 8). */
export const BUSY_TIMEOUT_MS = 10_000;

// Beside this module in src/store/, beside the bundle in dist/ (scripts/build.js copies them there).
const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface OpenOptions {
  /** Create the file (0600) and its directory (0700) when missing; otherwise a missing file is an error. */
  create: boolean;
  /**
   * Runs inside the migration transaction, after the files it applied (their numbers): the step of a
   * migration that needs more than SQL (009 seals the old audit rows under the at-rest key).
   */
  afterMigrate?: (db: Db, applied: readonly number[]) => void;
  /** false: open as it is, for a quick look (serve's "has accounts?"), leaving the upgrade to the opener with the key. */
  migrate?: boolean;
}

export function openStore(path: string, options: OpenOptions): Db {
  if (path !== ':memory:') prepareFile(path, options.create);
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: !options.create, timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw storeError(err, path);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    if (options.migrate !== false) migrate(db, options.afterMigrate);
  } catch (err) {
    db.close();
    throw storeError(err, path);
  }
  return db;
}

function prepareFile(path: string, create: boolean): void {
  if (existsSync(path)) return;
  if (!create) throw new NotFound(`no acctsec database at ${path}; run \`acctsec init\` first`);
  const dir = dirname(path);
  // Only a directory we create gets 0700: an existing one (a temp dir, a home) is the user's to set.
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Create the file ourselves so it is 0600 from its first byte; SQLite gives -wal/-shm the same mode.
  closeSync(openSync(path, 'wx', 0o600));
}

/** Numbered .sql files, each applied once in its own transaction; PRAGMA user_version records the last. */
export function migrate(db: Db, afterMigrate?: OpenOptions['afterMigrate']): void {
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort();
  const latest = files.length;
  if ((db.pragma('user_version', { simple: true }) as number) >= latest) return;
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated while we waited.
    const current = db.pragma('user_version', { simple: true }) as number;
    const applied: number[] = [];
    for (const file of files) {
      const version = Number(file.slice(0, 3));
      if (version <= current) continue;
      db.exec(readFileSync(join(migrationsDir, file), 'utf8'));
      db.pragma(`user_version = ${version}`);
      applied.push(version);
    }
    afterMigrate?.(db, applied);
  }).immediate();
}

/** better-sqlite3 throws SqliteError with a code; a busy or unreadable store is "back end unavailable". */
export function storeError(err: unknown, path?: string): Error {
  if (err instanceof AcctsecError) return err;
  const code = (err as { code?: unknown }).code;
  const where = path ? ` at ${path}` : '';
  const is = (prefix: string) => typeof code === 'string' && code.startsWith(prefix);
  if (is('SQLITE_BUSY') || is('SQLITE_LOCKED')) {
    return new Unavailable(
      `the database${where} is busy (another process held it for ${BUSY_TIMEOUT_MS / 1000} s); try again`,
      'store_busy',
    );
  }
  if (['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_READONLY'].some(is)) {
    return new Unavailable(`the database${where} cannot be read (${String(code)})`, 'store_unreadable');
  }
  return err instanceof Error ? err : new Error(String(err));
}
