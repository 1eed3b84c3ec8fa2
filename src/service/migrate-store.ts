import { existsSync, statSync } from 'node:fs';
import { isPostgresUrl, redactUrl } from '../database-url.js';
import { AcctsecError, Conflict, InvalidInput, NotFound, Unavailable } from '../errors.js';
import {
  advanceIdentities,
  clearTable,
  copiedColumns,
  copyTable,
  countRows,
  postgresSchemaVersion,
  type RowDigest,
  sourceTables,
  type SourceTable,
  tableDigest,
  targetTables,
  unlimitedStatements,
} from '../store/copy.js';
import { latestSchemaVersion, openStore, storeError, type Db } from '../store/db.js';
import { getMeta } from '../store/meta.js';
import { openReader } from '../store/reader.js';
import type { StoreMigration } from '../views.js';
import { verifyAuditChain } from './audit.js';
import { chainKeyOf, keyMatches, keyringFrom, readKeyFile, writeKeyFile } from './encryption.js';

// `acctsec admin migrate-store` (issue #22): an existing SQLite database copied into an empty PostgreSQL
// database (or schema), then checked. Decisions, written down:
// - The source is opened read-only and must be at this build's schema: an older one is refused (run any
//   command on it first, which upgrades it under its key as always), not upgraded here. One way to
//   upgrade a database, and the copy never writes to the file it reads.
// - The source's audit chain must verify before anything is copied: its head is what the copy is
//   checked against.
// - The copy is one PostgreSQL transaction: the schema (the PostgreSQL migrations, run by openStore in
//   their transaction) and every row, through openStore's afterMigrate hook, then the sequences, then a
//   check of the rows inside the same transaction (a mismatch rolls it all back). A failure anywhere
//   leaves the target as it was. The source is read in one read transaction: one snapshot.
// - After the commit, a new read-only connection counts and digests every table and walks the audit
//   chain with the key: the check of what others will read.
// - The key is not re-encrypted: the copy keeps the source's at-rest key, which is copied to the
//   PostgreSQL key file (keyPathFor the URL) unless ACCTSEC_ENCRYPTION_KEY supplies it; a different key
//   already in that file is refused before anything is done.

export interface MigrateStoreOptions {
  /** The SQLite database file. */
  from: string;
  /** The PostgreSQL URL (from the flag, without a password, or from ACCTSEC_DATABASE_URL). */
  to: string;
  /** ACCTSEC_ENCRYPTION_KEY, which wins over the key file, as for every command. */
  envKey?: string | undefined;
  /** The source's key file (FROM.key). */
  sourceKeyPath: string;
  /** Where instances on the PostgreSQL database look for the key file. */
  targetKeyPath: string;
  dryRun: boolean;
}

/** The table the migrations fill with a first row, and every insert into tokens bumps: copied last. */
const LAST = 'change_generation';
/** The target's own bookkeeping, with no SQLite table. */
const TARGET_ONLY = new Set(['schema_version']);

export function migrateStore(options: MigrateStoreOptions): StoreMigration {
  const started = Date.now();
  const { from, to } = options;
  const shownTo = redactUrl(to);
  if (!isPostgresUrl(to)) throw new InvalidInput(`--to must be a postgres:// URL (got "${shownTo}")`, '--to');
  if (!existsSync(from)) throw new NotFound(`no SQLite database at ${from}`, 'no_database');
  if (statSync(from).size === 0)
    throw new Unavailable(`the file ${from} is empty (0 bytes), not an acctsec database`, 'store_empty');

  // The key first: without it the audit chain cannot be verified, and the copy would be unusable.
  const key = keyringFrom({ envKey: options.envKey, keyPath: options.sourceKeyPath }).key();
  const keySource = options.envKey ? 'ACCTSEC_ENCRYPTION_KEY' : options.sourceKeyPath;
  let fileState: StoreMigration['key']['fileState'] = null;
  if (!options.envKey) {
    if (existsSync(options.targetKeyPath)) {
      if (!readKeyFile(options.targetKeyPath).equals(key))
        throw new Conflict(
          `${options.targetKeyPath} already holds a different key (another PostgreSQL database's?): the copy needs the key of ${from}; ` +
            'move that file away (keep it if a database uses it), or set ACCTSEC_ENCRYPTION_KEY for the instances; nothing was changed',
          'key_exists',
        );
      fileState = 'same';
    } else fileState = options.dryRun ? 'would-write' : 'written';
  }

  const src = open(() => openReader(from), from);
  try {
    const version = src.pragma('user_version', { simple: true }) as number;
    const latest = latestSchemaVersion();
    if (version === 0) throw new InvalidInput(`${from} is not an acctsec database (no schema)`, '--from');
    if (version > latest)
      throw new Unavailable(
        `${from} was written by a newer acctsec (schema ${version}, this build knows ${latest}); upgrade acctsec`,
        'store_newer',
      );
    if (version < latest)
      throw new Conflict(
        `${from} is at schema ${version}, this build's is ${latest}: upgrade it first by running any acctsec command on it ` +
          `with this build (for example \`acctsec --db ${from} status\`), then migrate-store again; nothing was changed`,
        'source_outdated',
      );
    const check = getMeta(src, 'key_check');
    if (check !== undefined && !keyMatches(key, check))
      throw new InvalidInput(
        `the encryption key (${keySource}) does not match ${from}: the audit chain cannot be verified, nor the copy used`,
        'ACCTSEC_ENCRYPTION_KEY',
      );
    const found = open(() => postgresSchemaVersion(to), to);
    if (found > 0) throw notEmpty(shownTo, `it already holds an acctsec schema (version ${found})`);

    const chainKey = chainKeyOf(key);
    // One snapshot of the source for the verification, the counts and the copy.
    return src.transaction(() => {
      const before = verifyAuditChain(src, chainKey);
      if (!before.intact)
        throw new AcctsecError(
          'audit_tampered',
          `the audit log of ${from} does not verify (${before.problem}): nothing was copied; see \`acctsec --db ${from} admin audit verify\``,
          1,
        );
      const tables = sourceTables(src);
      const ordered = [...tables.filter((t) => t.name !== LAST), ...tables.filter((t) => t.name === LAST)];
      const result: StoreMigration = {
        from,
        to: shownTo,
        dryRun: options.dryRun,
        schemaVersion: version,
        tables: ordered.map((t) => ({ table: t.name, rows: countRows(src, t.name), copied: null })),
        rows: 0,
        audit: { rows: before.rows, head: before.head, copy: null },
        verified: null,
        problems: [],
        key: { source: keySource, file: options.envKey ? null : options.targetKeyPath, fileState },
        seconds: 0,
      };
      result.rows = result.tables.reduce((n, t) => n + t.rows, 0);
      if (options.dryRun) return finish(result, started);

      const digests = copy(src, to, ordered, shownTo);
      if (fileState === 'written') {
        try {
          writeKeyFile(options.targetKeyPath, key);
        } catch (err) {
          throw new Unavailable(
            `the copy is committed, but the key file ${options.targetKeyPath} could not be written (${(err as Error).message}): ` +
              `copy ${keySource} there by hand (mode 0600) before starting \`acctsec serve --database\``,
            'key_write_failed',
          );
        }
      }
      verifyCopy(result, to, digests, chainKey);
      return finish(result, started);
    })();
  } finally {
    src.close();
  }
}

function finish(result: StoreMigration, started: number): StoreMigration {
  result.seconds = Math.round((Date.now() - started) / 100) / 10;
  return result;
}

function open<T>(fn: () => T, where: string): T {
  try {
    return fn();
  } catch (err) {
    throw storeError(err, where);
  }
}

function notEmpty(shownTo: string, why: string): Conflict {
  return new Conflict(
    `the database ${shownTo} is not empty: ${why}; migrate-store copies only into an empty database or schema (nothing was changed)`,
    'target_not_empty',
  );
}

interface Copied {
  columns: string[];
  digest: RowDigest;
}

/** PostgreSQL's answer to creating what exists already: the target was not empty. */
const ALREADY_THERE = new Set(['42P07', '42710', '42723', '42P06']);

/** The schema and every row, in one transaction; returns what was copied of each table. */
function copy(src: Db, to: string, tables: SourceTable[], shownTo: string): Map<string, Copied> {
  const copied = new Map<string, Copied>();
  let ran = false;
  let dst: Db;
  try {
    dst = openStore(to, {
      create: true,
      afterMigrate: (dstDb, applied) => {
        ran = true;
        // Another process made the schema between the look and the lock: not ours to fill.
        if (applied[0] !== 1) throw notEmpty(shownTo, 'an acctsec schema was created in it meanwhile');
        unlimitedStatements(dstDb);
        const columnsOf = targetTables(dstDb);
        const missing = tables.filter((t) => !columnsOf.has(t.name)).map((t) => t.name);
        const extra = [...columnsOf.keys()].filter((n) => !TARGET_ONLY.has(n) && !tables.some((t) => t.name === n));
        if (missing.length || extra.length)
          throw new AcctsecError(
            'schema_mismatch',
            `the PostgreSQL schema does not match the SQLite one (${[...missing.map((m) => `${m} missing`), ...extra.map((e) => `${e} extra`)].join(', ')}): nothing was copied`,
            1,
          );
        for (const table of tables) {
          const target = columnsOf.get(table.name)!;
          const { columns, rowid } = copiedColumns(table, target);
          const odd = [...columns.filter((c) => !target.includes(c)), ...target.filter((c) => !columns.includes(c))];
          if (odd.length)
            throw new AcctsecError(
              'schema_mismatch',
              `the columns of ${table.name} differ between SQLite and PostgreSQL (${odd.join(', ')}): nothing was copied`,
              1,
            );
          try {
            if (countRows(dstDb, table.name) > 0) clearTable(dstDb, table.name);
            copied.set(table.name, { columns, digest: copyTable(src, dstDb, table, columns, rowid) });
          } catch (err) {
            throw new AcctsecError(
              'copy_failed',
              `copying the table ${table.name} failed: ${(err as Error).message}; nothing was written to ${shownTo} (it is as it was)`,
              1,
            );
          }
        }
        advanceIdentities(dstDb);
        // Read back inside the transaction: a difference rolls everything back.
        for (const [name, c] of copied) {
          const back = tableDigest(dstDb, name, c.columns);
          if (back.rows !== c.digest.rows || back.hex !== c.digest.hex)
            throw new AcctsecError(
              'copy_mismatch',
              `the copy of ${name} reads back differently (${back.rows} rows, ${c.digest.rows} copied): nothing was written to ${shownTo}`,
              1,
            );
        }
      },
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (err instanceof Error && err.name === 'PgError' && typeof code === 'string' && ALREADY_THERE.has(code))
      throw notEmpty(shownTo, `creating the acctsec schema met an object already there (${err.message})`);
    throw err;
  }
  dst.close();
  // migrate() finds the schema current and skips its transaction (and the hook) when another process
  // made it between the look and the lock.
  if (!ran) throw notEmpty(shownTo, 'an acctsec schema was created in it meanwhile');
  return copied;
}

/** After the commit, on a connection of its own: counts, digests and the audit chain of the copy. */
function verifyCopy(result: StoreMigration, to: string, copied: Map<string, Copied>, chainKey: Buffer): void {
  const reader = open(() => openReader(to), to);
  try {
    reader.transaction(() => {
      for (const t of result.tables) {
        const c = copied.get(t.table)!;
        const back = tableDigest(reader, t.table, c.columns);
        t.copied = back.rows;
        if (back.rows !== t.rows)
          result.problems.push(`${t.table}: ${t.rows} rows in the source, ${back.rows} in the copy`);
        else if (back.hex !== c.digest.hex) result.problems.push(`${t.table}: the rows differ from the source's`);
      }
      const v = verifyAuditChain(reader, chainKey);
      result.audit.copy = { rows: v.rows, head: v.head, intact: v.intact, problem: v.problem };
      if (!v.intact) result.problems.push(`the audit log of the copy does not verify: ${v.problem}`);
      else if (v.head !== result.audit.head)
        result.problems.push(`the audit head of the copy (${v.head}) is not the source's (${result.audit.head})`);
    })();
  } finally {
    reader.close();
  }
  result.verified = result.problems.length === 0;
}
