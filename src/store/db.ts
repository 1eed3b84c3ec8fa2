import Database from 'better-sqlite3';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AcctsecError, NotFound, Unavailable } from '../errors.js';
import { isPostgresUrl, redactUrl } from '../database-url.js';
import { PgDatabase } from './pg.js';

export type Db = Database.Database;

let addon: string | null | undefined;
/**
 * better-sqlite3's compiled addon, named directly: without it, better-sqlite3 asks the `bindings`
 * package, which walks a call stack and probes a dozen paths on every start (about 19 ms of CPU, a fifth
 * of `node -e 0`, on every command that opens the store; issue #18). Undefined when the addon is not at
 * node-gyp's usual place (a Debug build): then better-sqlite3 finds it its own way.
 */
export function nativeBinding(): string | undefined {
  if (addon === undefined) {
    const main = createRequire(import.meta.url).resolve('better-sqlite3');
    const file = join(dirname(main), '..', 'build', 'Release', 'better_sqlite3.node');
    addon = existsSync(file) ? file : null;
  }
  return addon ?? undefined;
}

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
/** PostgreSQL's migrations are the same numbers in its dialect, in migrations/pg. */
const migrationsDirOf = (db: Db) => (isPostgres(db) ? join(migrationsDir, 'pg') : migrationsDir);

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
  if (isPostgresUrl(path)) return openPostgres(path, options);
  if (path !== ':memory:') prepareFile(path, options.create);
  let db: Db;
  try {
    db = new Database(path, {
      fileMustExist: !options.create,
      timeout: BUSY_TIMEOUT_MS,
      nativeBinding: nativeBinding(),
    });
  } catch (err) {
    throw storeError(err, path);
  }
  if (path !== ':memory:') {
    const { dev, ino } = statSync(path);
    identities.set(db, { path, dev, ino });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    if (options.migrate !== false) migrate(db, options.afterMigrate);
    else refuseNewer(db);
  } catch (err) {
    db.close();
    throw storeError(err, path);
  }
  return db;
}

/**
 * A PostgreSQL database (issue #22): the same store behind the same interface (src/store/pg.ts). An
 * empty database is an acctsec database only with `create` (its schema is made then); without it, it is
 * refused as a missing file is.
 */
function openPostgres(url: string, options: OpenOptions): Db {
  const pg = new PgDatabase(url, { busyTimeoutMs: BUSY_TIMEOUT_MS });
  const db = pg as unknown as Db;
  try {
    if (!options.create && pg.schemaVersion() === 0)
      throw new NotFound(
        `no acctsec schema in the database ${pg.name}; create it with \`acctsec init\` or \`acctsec serve --create\``,
        'no_database',
      );
    if (options.migrate !== false) migrate(db, options.afterMigrate);
    else refuseNewer(db);
  } catch (err) {
    pg.close();
    throw storeError(err, pg.name);
  }
  return db;
}

/** What another connection opens to reach the same database: the file's path, or the full URL. */
export function locationOf(db: Db): string {
  return (db as unknown) instanceof PgDatabase ? (db as unknown as PgDatabase).url : db.name;
}

/** Whether this connection is to PostgreSQL (else a SQLite file). */
export function isPostgres(db: Db): boolean {
  return (db as unknown) instanceof PgDatabase;
}

function prepareFile(path: string, create: boolean): void {
  if (existsSync(path)) {
    // SQLite would take an empty file as a new database and initialise it: a truncated or mistaken
    // file must not silently become an empty acctsec database (issue #19).
    if (statSync(path).size === 0)
      throw new Unavailable(
        `the database file ${path} is empty (0 bytes), not an acctsec database; restore it from a backup, or remove it and run \`acctsec init --db ${path}\``,
        'store_empty',
      );
    // `init` on a file that already exists (made by `serve --create`, or by hand) makes it private.
    if (create) chmodSync(path, 0o600);
    return;
  }
  if (!create) throw new NotFound(`no acctsec database at ${path}; run \`acctsec init\` first`);
  const dir = dirname(path);
  // Only a directory we create gets 0700: an existing one (a temp dir, a home) is the user's to set.
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Create the file ourselves so it is 0600 from its first byte; SQLite gives -wal/-shm the same mode.
  closeSync(openSync(path, 'wx', 0o600));
}

function migrationFiles(db: Db): string[] {
  return readdirSync(migrationsDirOf(db))
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort();
}

/** The schema this build knows: the number of its highest migration (numbers need not be contiguous). */
function latestVersion(files: string[]): number {
  return files.length === 0 ? 0 : Number(files[files.length - 1]!.slice(0, 3));
}

/** This build's schema version (its SQLite and PostgreSQL migrations have the same numbers). */
export function latestSchemaVersion(): number {
  return latestVersion(
    readdirSync(migrationsDir)
      .filter((f) => /^\d{3}_.+\.sql$/.test(f))
      .sort(),
  );
}

/** Opened without migrating: still refused when a newer acctsec wrote it. */
function refuseNewer(db: Db): void {
  const latest = latestVersion(migrationFiles(db));
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > latest) throw newerSchema(db, found, latest);
}

/** Numbered .sql files, each applied once in its own transaction; PRAGMA user_version records the last. */
export function migrate(db: Db, afterMigrate?: OpenOptions['afterMigrate']): void {
  const files = migrationFiles(db);
  const latest = latestVersion(files);
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > latest) throw newerSchema(db, found, latest);
  if (found === latest) return;
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated while we waited.
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > latest) throw newerSchema(db, current, latest);
    const applied: number[] = [];
    for (const file of files) {
      const version = Number(file.slice(0, 3));
      if (version <= current) continue;
      db.exec(readFileSync(join(migrationsDirOf(db), file), 'utf8'));
      db.pragma(`user_version = ${version}`);
      applied.push(version);
    }
    afterMigrate?.(db, applied);
  }).immediate();
}

/**
 * A database written by a newer acctsec: its tables may mean things this build does not know, so it is
 * refused (exit 8) rather than read or written (issue #19: it used to fail later with "undefined is not
 * valid JSON").
 */
function newerSchema(db: Db, found: number, known: number): Unavailable {
  return new Unavailable(
    `the database${db.name === ':memory:' ? '' : ` at ${db.name}`} was created by a newer acctsec (schema ${found}, this build knows ${known}); upgrade acctsec`,
    'store_newer',
  );
}

/**
 * Runs a bookkeeping write of a read (a session's or a token's last use) only if the write lock is free
 * now: a read must not wait up to 10 s behind another process's transaction for it (issue #19: `status`
 * took 7.3 s while a writer held the lock). Skipped, it is done by a later read. Returns whether it ran.
 */
export function writeIfFree(db: Db, write: () => void): boolean {
  if (db.inTransaction) {
    write(); // the lock is already ours
    return true;
  }
  db.pragma('busy_timeout = 0');
  try {
    write();
    return true;
  } catch (err) {
    if (isBusy(err)) return false;
    throw err;
  } finally {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/** The file each connection opened, to notice when it is removed or replaced under a running server. */
const identities = new WeakMap<Db, { path: string; dev: number; ino: number; gone?: string }>();

/** Device and inode of the file `db` opened (a file database opened by openStore), for other openers. */
export function fileIdentity(db: Db): { dev: number; ino: number } | undefined {
  const id = identities.get(db);
  return id && { dev: id.dev, ino: id.ino };
}

/**
 * Refuses (exit 8, 503 remotely) when the file at the database's path is no longer the one this
 * connection opened: removed (writes would go to an unlinked file, lost at the next start) or replaced
 * (`mv other.db acctsec.db`: writes would go to the old file). Once seen, it stays refused: the
 * connection can never again write where the path points. A stat, about 2 µs: callers check before and
 * after each write and now and then for reads (issue #19).
 */
export function checkStoreFile(db: Db): void {
  const id = identities.get(db);
  if (!id) return;
  if (!id.gone) {
    const now = statSync(id.path, { throwIfNoEntry: false });
    if (!now) id.gone = 'was removed';
    else if (now.dev !== id.dev || now.ino !== id.ino) id.gone = 'was replaced by another file';
  }
  if (id.gone)
    throw new Unavailable(
      `the database file ${id.path} ${id.gone} while it was open: nothing more is written to it; restart acctsec serve (and restore the file if it was lost)`,
      'store_replaced',
    );
}

/** Whether the file system of `path` has less than 64 KiB left for us (not knowing: no). */
function nearlyFull(path: string): boolean {
  try {
    const fs = statfsSync(dirname(path));
    return fs.bavail * fs.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/** PostgreSQL's SQLSTATEs of a lock wait or statement that ran out of time (lock_timeout, statement_timeout). */
const PG_BUSY = new Set(['55P03', '57014', '40001', '40P01']);

/** Another writer held the lock for longer than we wait (SQLite's SQLITE_BUSY, PostgreSQL's lock timeout). */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (code.startsWith('SQLITE_BUSY') || (err instanceof Error && err.name === 'PgError' && PG_BUSY.has(code)))
  );
}

/** better-sqlite3 throws SqliteError with a code; a busy or unreadable store is "back end unavailable". */
export function storeError(err: unknown, path?: string, waitedMs?: number): Error {
  if (err instanceof AcctsecError) return err;
  const code = (err as { code?: unknown }).code;
  const where = path ? ` at ${isPostgresUrl(path) ? redactUrl(path) : path}` : '';
  const is = (prefix: string) => typeof code === 'string' && code.startsWith(prefix);
  if (err instanceof Error && err.name === 'PgError' && typeof code === 'string' && !PG_BUSY.has(code)) {
    // A lost or refused connection, a server shutting down, no resources: the store is unavailable.
    if (code === '53100')
      return new Unavailable(`the database${where} cannot grow: ${err.message}; nothing was written`, 'store_full');
    if (code.startsWith('08') || code.startsWith('57P') || code.startsWith('53'))
      return new Unavailable(`the database${where} cannot be reached: ${err.message}`, 'store_unreachable');
    return err;
  }
  if (isBusy(err) || is('SQLITE_LOCKED')) {
    // The wait the caller measured, when it did: the message says what really happened (issue #19).
    const waited = waitedMs === undefined ? BUSY_TIMEOUT_MS / 1000 : Math.round(waitedMs / 100) / 10;
    return new Unavailable(
      `the database${where} is busy: another process held its write lock for the ${waited} s this command waited; try again`,
      'store_busy',
    );
  }
  // A full disk is SQLITE_FULL when SQLite sees it growing the database, but an I/O error of another
  // kind when it meets it growing the WAL index (SQLITE_IOERR_SHMSIZE) or writing: the free space tells.
  if (is('SQLITE_FULL') || (is('SQLITE_IOERR') && path !== undefined && nearlyFull(path))) {
    return new Unavailable(
      `the database${where} cannot grow: no space left on device; nothing was written (free some space and try again)`,
      'store_full',
    );
  }
  if (['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_READONLY'].some(is)) {
    return new Unavailable(`the database${where} cannot be read (${String(code)})`, 'store_unreadable');
  }
  return err instanceof Error ? err : new Error(String(err));
}
