import { createHash } from 'node:crypto';
import { BUSY_TIMEOUT_MS, type Db } from './db.js';
import { PgDatabase } from './pg.js';

// The SQL of `admin migrate-store` (issue #22): a SQLite database's tables copied row by row into a
// PostgreSQL one whose schema the PostgreSQL migrations just made, and the digests that compare them.

/** A table of the source, its columns in order, and the tables its foreign keys point to. */
export interface SourceTable {
  name: string;
  columns: string[];
  references: string[];
}

const NAME = /^[a-z_][a-z0-9_]*$/;
const quote = (name: string) => `"${name}"`;

function checkedName(name: string): string {
  // Names come from the databases' catalogues; anything but a plain name is not one of ours.
  if (!NAME.test(name)) throw new Error(`unexpected table or column name ${JSON.stringify(name)}`);
  return name;
}

/**
 * The source's tables (sqlite_ internals left out), parents before the tables that refer to them: the
 * target checks each foreign key as its row is inserted.
 */
export function sourceTables(src: Db): SourceTable[] {
  const names = (
    src
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
      .all() as {
      name: string;
    }[]
  ).map((r) => checkedName(r.name));
  const tables = new Map<string, SourceTable>();
  for (const name of names.sort()) {
    const columns = (src.pragma(`table_info(${quote(name)})`) as { name: string }[]).map((c) => checkedName(c.name));
    const references = [
      ...new Set((src.pragma(`foreign_key_list(${quote(name)})`) as { table: string }[]).map((f) => f.table)),
    ].filter((t) => t !== name);
    tables.set(name, { name, columns, references });
  }
  const ordered: SourceTable[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (t: SourceTable) => {
    if (placed.has(t.name)) return;
    if (visiting.has(t.name)) throw new Error(`the foreign keys of ${t.name} form a cycle`);
    visiting.add(t.name);
    for (const parent of t.references) {
      const p = tables.get(parent);
      if (p) place(p);
    }
    visiting.delete(t.name);
    placed.add(t.name);
    ordered.push(t);
  };
  for (const t of tables.values()) place(t);
  return ordered;
}

/** The target's tables in its current schema (the URL's search_path), with their columns. */
export function targetTables(dst: Db): Map<string, string[]> {
  const rows = dst
    .prepare(
      `SELECT table_name AS t, column_name AS c FROM information_schema.columns
       WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
    )
    .all() as { t: string; c: string }[];
  const tables = new Map<string, string[]>();
  for (const { t, c } of rows) {
    let columns = tables.get(t);
    if (!columns) tables.set(t, (columns = []));
    columns.push(c);
  }
  return tables;
}

/** The rows of a table, counted. */
export function countRows(db: Db, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${quote(checkedName(table))}`).get() as { n: number }).n;
}

/** Drops the rows a migration put in (change_generation's first row): the source's rows replace them. */
export function clearTable(dst: Db, table: string): void {
  dst.prepare(`DELETE FROM ${quote(checkedName(table))}`).run();
}

/**
 * The column values as text, whatever their type on either side: a blob as hex, a number as its
 * decimal form (SQLite keeps a number in a TEXT column as text; PostgreSQL gives BIGINTs as numbers).
 */
function canonical(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return `x${value.toString('hex')}`;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return `v${value}`;
  throw new TypeError(`unexpected column value of type ${typeof value}`);
}

const MOD = 1n << 256n;

/**
 * A digest of a table's rows that does not depend on their order (the two databases sort text
 * differently): the sum, modulo 2^256, of each row's SHA-256. Equal digests: the same rows.
 */
export class RowDigest {
  private sum = 0n;
  rows = 0;
  add(values: unknown[]): void {
    const h = createHash('sha256')
      .update(JSON.stringify(values.map(canonical)))
      .digest('hex');
    this.sum = (this.sum + BigInt(`0x${h}`)) % MOD;
    this.rows++;
  }
  get hex(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}

/** The columns the copy carries: the source's, plus `rowid` where the target keeps SQLite's rowid in a column. */
export function copiedColumns(table: SourceTable, target: readonly string[]): { columns: string[]; rowid: boolean } {
  const rowid = target.includes('rowid') && !table.columns.includes('rowid');
  return { columns: rowid ? [...table.columns, 'rowid'] : table.columns, rowid };
}

/** PostgreSQL takes at most 65,535 parameters a statement; batches stay well under it. */
const MAX_BATCH_ROWS = 500;
const MAX_BATCH_PARAMS = 30_000;

/**
 * Copies every row of `table`, in rowid order (the id order of tables with an integer id), by batch
 * INSERTs into the target; returns the digest of what it read.
 */
export function copyTable(src: Db, dst: Db, table: SourceTable, columns: string[], rowid: boolean): RowDigest {
  const digest = new RowDigest();
  const selected = table.columns.map(quote).join(', ') + (rowid ? ', rowid AS "rowid"' : '');
  const read = src.prepare(`SELECT ${selected} FROM ${quote(table.name)} ORDER BY rowid`).raw(true);
  const perBatch = Math.max(1, Math.min(MAX_BATCH_ROWS, Math.floor(MAX_BATCH_PARAMS / columns.length)));
  const into = `INSERT INTO ${quote(table.name)} (${columns.map(quote).join(', ')}) VALUES `;
  const row = `(${columns.map(() => '?').join(', ')})`;
  const insert = (rows: unknown[][]) => {
    dst.prepare(into + Array.from(rows, () => row).join(', ')).run(rows.flat());
  };
  let batch: unknown[][] = [];
  for (const values of read.iterate() as IterableIterator<unknown[]>) {
    digest.add(values);
    batch.push(values);
    if (batch.length === perBatch) {
      insert(batch);
      batch = [];
    }
  }
  if (batch.length > 0) insert(batch);
  return digest;
}

/** The digest of a table's rows over `columns`, read back from either database. */
export function tableDigest(db: Db, table: string, columns: string[]): RowDigest {
  const digest = new RowDigest();
  const rows = db.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(checkedName(table))}`).all() as Record<
    string,
    unknown
  >[];
  for (const r of rows) digest.add(columns.map((c) => r[c]));
  return digest;
}

/**
 * Every identity column's sequence set past the largest value copied in, so the next row the server
 * inserts gets a fresh id (an empty table: the sequence starts at 1).
 */
export function advanceIdentities(dst: Db): { table: string; column: string; next: number }[] {
  const identities = dst
    .prepare(
      `SELECT table_name AS t, column_name AS c FROM information_schema.columns
       WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name, column_name`,
    )
    .all() as { t: string; c: string }[];
  return identities.map(({ t, c }) => {
    const [table, column] = [checkedName(t), checkedName(c)];
    const max = (dst.prepare(`SELECT max(${quote(column)}) AS m FROM ${quote(table)}`).get() as { m: number | null }).m;
    const sequence = `pg_get_serial_sequence('${quote(table)}', '${column}')`;
    if (max === null) dst.prepare(`SELECT setval(${sequence}, 1, false)`).get();
    else dst.prepare(`SELECT setval(${sequence}, ?)`).get(max);
    return { table, column, next: (max ?? 0) + 1 };
  });
}

/** Time limits off for this transaction: serve's per-statement limits are not for a bulk copy. */
export function unlimitedStatements(dst: Db): void {
  dst.exec('SET LOCAL statement_timeout = 0');
}

/** The acctsec schema version of the PostgreSQL database at `url` (0: none), looked at without changing anything. */
export function postgresSchemaVersion(url: string): number {
  const pg = new PgDatabase(url, { readonly: true, busyTimeoutMs: BUSY_TIMEOUT_MS });
  try {
    return pg.schemaVersion();
  } finally {
    pg.close();
  }
}
