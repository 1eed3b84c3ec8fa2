import { createRequire } from 'node:module';
import { redactUrl } from '../database-url.js';
import { InvalidInput, Unavailable } from '../errors.js';

// PostgreSQL under the same synchronous store interface as better-sqlite3 (issue #22, docs/postgres.md).
// pg-native (libpq) answers a statement synchronously over the connection, so the service code, its
// 47 transactions and their guarantees stay as they are: this class offers the part of better-sqlite3's
// Database the store uses (prepare → get/all/run/pluck/iterate, transaction, exec, a few pragmas).
//
// Concurrency as SQLite has it: every transaction and every write outside one first takes one
// transaction-scoped advisory lock per schema, so writers run one at a time across all instances on it,
// as SQLite's single writer lock makes them on one file; a read outside a transaction takes no lock and
// sees what was committed (READ COMMITTED). So a read-then-write in a transaction is as safe as on
// SQLite (no other writer commits in between), and the audit chain stays linear.

/**
 * The advisory lock of acctsec's writers: ('acct' in ASCII, a hash of the schema's name), so that
 * deployments in different schemas of one database do not hold off each other's writes. The name, not
 * the schema's oid: a schema dropped and made again keeps its lock.
 */
const WRITE_LOCK = 0x61636374;
const SCHEMA_KEY = 'coalesce(hashtext(current_schema()), 0)';
export const WRITE_LOCK_SQL = `pg_advisory_xact_lock(${WRITE_LOCK}, ${SCHEMA_KEY})`;

interface Libpq {
  cmdTuples(): string;
  resultErrorFields(): { sqlState?: string; messagePrimary?: string } | undefined;
  errorMessage(): string;
}

export interface NativeClient {
  pq: Libpq;
  connectSync(params: string): void;
  querySync(text: string, values?: unknown[]): Record<string, unknown>[] | unknown[][];
  prepareSync(name: string, text: string, nParams: number): void;
  executeSync(name: string, values: unknown[]): Record<string, unknown>[] | unknown[][];
  getTransactionStatus(): 'I' | 'T' | 'E' | null;
  end(): void;
}

type NativeClientClass = new (config: {
  types: { getTypeParser(oid: number): (text: string) => unknown };
  arrayMode?: boolean;
}) => NativeClient;

let Native: NativeClientClass | undefined;
function nativeClient(): NativeClientClass {
  if (!Native) {
    try {
      Native = createRequire(import.meta.url)('pg-native') as NativeClientClass;
    } catch (err) {
      throw new Unavailable(
        `PostgreSQL support is not installed (${(err as Error).message.split('\n')[0]}): it needs the optional dependency pg-native, ` +
          'built against libpq (Debian: apt-get install libpq-dev, then npm rebuild); SQLite files work without it',
        'store_driver',
      );
    }
  }
  return Native;
}

// Values as SQLite gives them to the code: integers as numbers (not int8's strings), blobs as Buffers,
// booleans as 1/0.
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
function int8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) && BigInt(text) > MAX_SAFE) throw new RangeError(`integer ${text} is beyond 2^53`);
  return n;
}
const PARSERS: Record<number, (text: string) => unknown> = {
  16: (t) => (t === 't' ? 1 : 0), // bool
  17: (t) => Buffer.from(t.slice(2), 'hex'), // bytea, hex output
  20: int8,
  21: Number,
  23: Number,
  26: Number, // oid
  700: Number,
  701: Number,
  1700: Number, // numeric (sum())
};
const text = (t: string) => t;
const TYPES = { getTypeParser: (oid: number) => PARSERS[oid] ?? text };

function param(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot store ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? '1' : '0';
  // A Buffer sent as text is corrupted silently: bytea goes as its hex form.
  if (value instanceof Uint8Array)
    return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  throw new TypeError(`cannot bind a value of type ${typeof value}`);
}

interface Translated {
  text: string;
  /** For `@name` parameters, their names in $n order; undefined for `?` ones. */
  names: string[] | undefined;
  count: number;
  /** SELECT (or WITH … SELECT) without a write: runs without the writers' lock. */
  reads: boolean;
}

/** `?` and `@name` placeholders → `$n`, outside quotes and comments. */
export function translate(sqlText: string): Translated {
  let out = '';
  let positional = 0;
  const names: string[] = [];
  let i = 0;
  while (i < sqlText.length) {
    const c = sqlText[i]!;
    if (c === "'" || c === '"') {
      const end = sqlText.indexOf(c, i + 1);
      const stop = end === -1 ? sqlText.length : end + 1;
      out += sqlText.slice(i, stop);
      i = stop;
    } else if (c === '-' && sqlText[i + 1] === '-') {
      const end = sqlText.indexOf('\n', i);
      const stop = end === -1 ? sqlText.length : end;
      out += sqlText.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++positional}`;
      i++;
    } else if (c === '@' && /[A-Za-z_]/.test(sqlText[i + 1] ?? '')) {
      const m = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sqlText.slice(i))!;
      let n = names.indexOf(m[1]!);
      if (n === -1) n = names.push(m[1]!) - 1;
      out += `$${n + 1}`;
      i += m[0].length;
    } else {
      out += c;
      i++;
    }
  }
  if (positional && names.length) throw new Error('a statement mixes ? and @name parameters');
  const reads = /^\s*(?:SELECT|WITH)\b/i.test(sqlText) && !/\b(?:INSERT|UPDATE|DELETE)\b/i.test(sqlText);
  return { text: out, names: names.length ? names : undefined, count: positional || names.length, reads };
}

/** An error of the database, with its SQLSTATE as `code` (better-sqlite3's errors carry SQLite's). */
export class PgError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'PgError';
  }
}

/** A transaction's statement failed and its error was caught: nothing of the transaction can be committed. */
function aborted(): PgError {
  return new PgError(
    'a statement failed inside the transaction, which was rolled back: nothing of it was saved',
    '25P02',
  );
}

export interface RunResult {
  changes: number;
  lastInsertRowid: number;
}

export class PgStatement {
  private plucking = false;
  readonly reader: boolean;

  constructor(
    private readonly db: PgDatabase,
    private readonly sql: Translated,
    readonly source: string,
  ) {
    this.reader = sql.reads;
  }

  pluck(on = true): this {
    this.plucking = on;
    return this;
  }

  get(...args: unknown[]): unknown {
    const rows = this.execute(args);
    const row = rows[0];
    if (row === undefined) return undefined;
    return this.plucking ? (row as unknown[])[0] : row;
  }

  all(...args: unknown[]): unknown[] {
    const rows = this.execute(args);
    return this.plucking ? rows.map((r) => (r as unknown[])[0]) : rows;
  }

  iterate(...args: unknown[]): IterableIterator<unknown> {
    return this.all(...args)[Symbol.iterator]();
  }

  run(...args: unknown[]): RunResult {
    this.execute(args);
    return { changes: this.db.lastChanges, lastInsertRowid: 0 };
  }

  private values(args: unknown[]): (string | null)[] {
    const { names, count } = this.sql;
    if (names) {
      const bag = args[0];
      if (args.length !== 1 || typeof bag !== 'object' || bag === null)
        throw new TypeError('named parameters need one object');
      return names.map((n) => {
        if (!(n in bag)) throw new RangeError(`Missing named parameter "${n}"`);
        return param((bag as Record<string, unknown>)[n]);
      });
    }
    const flat = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
    if (flat.length !== count)
      throw new RangeError(`${flat.length < count ? 'Too few' : 'Too many'} parameter values were provided`);
    return flat.map(param);
  }

  private execute(args: unknown[]): unknown[] {
    return this.db.run(this.sql, this.values(args), this.plucking);
  }
}

export interface PgOptions {
  readonly?: boolean;
  /** How long a writer waits for the lock other instances' writers hold (SQLite's busy timeout). */
  busyTimeoutMs: number;
}

type TransactionFn<A extends unknown[], R> = ((...args: A) => R) & {
  deferred: (...args: A) => R;
  immediate: (...args: A) => R;
  exclusive: (...args: A) => R;
};

export class PgDatabase {
  readonly name: string;
  readonly memory = false;
  readonly readonly: boolean;
  open = true;
  /** Rows changed by the last statement (cmdTuples). */
  lastChanges = 0;
  private client: NativeClient | undefined;
  private readonly statements = new Map<string, PgStatement>();
  private prepared = 0;
  private depth = 0;
  private busyTimeoutMs: number;
  private readonly defaultBusyMs: number;

  constructor(
    /** The connection URL as given (with its password, if it has one: kept for the audit worker). */
    readonly url: string,
    options: PgOptions,
  ) {
    this.name = redactUrl(url);
    this.readonly = options.readonly ?? false;
    this.busyTimeoutMs = this.defaultBusyMs = options.busyTimeoutMs;
    this.connect();
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  private connect(): NativeClient {
    const Client = nativeClient();
    const client = new Client({ types: TYPES });
    try {
      client.connectSync(this.url);
    } catch (err) {
      endClient(client);
      throw new Unavailable(
        `cannot connect to the database ${this.name}: ${scrub(firstLine((err as Error).message))}`,
        'store_unreachable',
      );
    }
    // A statement waits at most this long for a lock or an answer: every statement blocks this
    // instance's event loop while it runs (the settings of the URL's `options` come first).
    const settings = [
      `SET lock_timeout = ${this.defaultBusyMs}`,
      `SET statement_timeout = ${this.defaultBusyMs + 5000}`,
      // A frozen instance (a paused VM, a partition) must not hold the writers' lock for hours: its
      // session ends when idle inside a transaction, or when its peer stops answering keepalives. (Not
      // a reader: the audit walk computes its MACs inside its snapshot, and holds no lock.)
      ...(this.readonly ? [] : [`SET idle_in_transaction_session_timeout = ${this.defaultBusyMs + 5000}`]),
      'SET tcp_keepalives_idle = 30',
      'SET tcp_keepalives_interval = 10',
      'SET tcp_keepalives_count = 3',
      "SET TIME ZONE 'UTC'",
      'SET client_min_messages = warning',
      ...(this.readonly ? ['SET default_transaction_read_only = on'] : []),
    ];
    try {
      client.querySync(settings.join('; '));
    } catch (err) {
      endClient(client);
      throw err;
    }
    this.client = client;
    this.names.clear();
    return client;
  }

  private live(): NativeClient {
    if (!this.open) throw new TypeError('The database connection is not open');
    // A connection lost inside a transaction took the transaction (and the writers' lock) with it:
    // nothing more of it may run, on a new connection, in autocommit.
    if (this.lost) throw new PgError('the connection to the database was lost inside a transaction', '08006');
    return this.client ?? this.connect();
  }

  /** The connection was lost while a transaction was open: the transaction fails to its end. */
  private lost = false;

  /** Runs one translated statement; takes the writers' lock around a write outside a transaction. */
  run(sql: Translated, values: (string | null)[], arrayMode: boolean): unknown[] {
    const client = this.live();
    // A bookkeeping write (writeIfFree sets busy_timeout 0: a last-use time, one row, atomic by itself)
    // goes without the writers' lock, so it is never skipped because others write.
    const alone = this.depth === 0 && !sql.reads && !this.readonly && this.busyTimeoutMs !== 0;
    if (alone) this.begin();
    let rows: unknown[];
    try {
      const name = this.ensurePrepared(client, sql);
      const wasArray = (client as unknown as { arrayMode: boolean }).arrayMode;
      (client as unknown as { arrayMode: boolean }).arrayMode = arrayMode;
      try {
        rows = client.executeSync(name, values);
      } finally {
        (client as unknown as { arrayMode: boolean }).arrayMode = wasArray;
      }
      this.lastChanges = Number(client.pq.cmdTuples()) || 0;
    } catch (err) {
      const mapped = this.failure(err);
      if (alone) this.rollback();
      throw mapped;
    }
    if (alone) this.commit();
    return rows;
  }

  /** Server-side prepared statements of this connection, by translated text. */
  private readonly names = new Map<string, string>();

  private ensurePrepared(client: NativeClient, sql: Translated): string {
    const known = this.names.get(sql.text);
    if (known) return known;
    const fresh = `s${++this.prepared}`;
    try {
      client.prepareSync(fresh, sql.text, sql.count);
    } catch (err) {
      throw this.failure(err);
    }
    this.names.set(sql.text, fresh);
    return fresh;
  }

  prepare(source: string): PgStatement {
    let statement = this.statements.get(source);
    if (!statement) this.statements.set(source, (statement = new PgStatement(this, translate(source), source)));
    return statement;
  }

  /** Statements without parameters, several at once (migrations). */
  exec(source: string): this {
    const client = this.live();
    const alone = this.depth === 0 && !this.readonly;
    if (alone) this.begin();
    try {
      client.querySync(source);
    } catch (err) {
      const mapped = this.failure(err);
      if (alone) this.rollback();
      throw mapped;
    }
    if (alone) this.commit();
    return this;
  }

  /** The few pragmas the store uses, in PostgreSQL's terms. */
  pragma(source: string, options?: { simple?: boolean }): unknown {
    const m = /^\s*(\w+)\s*(?:=\s*(\S+))?\s*$/.exec(source);
    const [name, value] = [m?.[1]?.toLowerCase(), m?.[2]];
    if (name === 'busy_timeout' && value !== undefined) {
      const ms = Number(value);
      // writeIfFree's 0 ("do not wait") must not wait behind another session's row lock either: the
      // server's lock_timeout follows (PostgreSQL's 0 would mean "for ever": 1 ms). Outside a
      // transaction only, where no rollback undoes the SET.
      if (ms !== this.busyTimeoutMs && this.client && this.depth === 0)
        this.simple(`SET lock_timeout = ${Math.max(1, ms)}`);
      this.busyTimeoutMs = ms;
      return options?.simple ? this.busyTimeoutMs : [{ timeout: this.busyTimeoutMs }];
    }
    if (name === 'user_version' && value === undefined) {
      const v = this.schemaVersion();
      return options?.simple ? v : [{ user_version: v }];
    }
    if (name === 'user_version') {
      this.exec(
        `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
         DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (${Number(value)})`,
      );
      return undefined;
    }
    // SQLite's file settings mean nothing here (journal, fsync, foreign keys are always on).
    if (['journal_mode', 'synchronous', 'foreign_keys', 'query_only'].includes(name ?? '')) return undefined;
    throw new Error(`pragma ${source} has no PostgreSQL equivalent`);
  }

  /** The schema's version (0: no acctsec schema in this database yet). */
  schemaVersion(): number {
    const client = this.live();
    try {
      const found = client.querySync("SELECT to_regclass('schema_version') IS NOT NULL AS found") as {
        found: number;
      }[];
      if (!found[0]?.found) return 0;
      const rows = client.querySync('SELECT version FROM schema_version') as { version: number }[];
      return rows[0]?.version ?? 0;
    } catch (err) {
      throw this.failure(err);
    }
  }

  transaction<A extends unknown[], R>(fn: (...args: A) => R): TransactionFn<A, R> {
    const run = (...args: A): R => {
      if (this.depth > 0) {
        // Nested: a savepoint, as better-sqlite3 does.
        const point = `sp${this.depth}`;
        this.simple(`SAVEPOINT ${point}`);
        this.depth++;
        let result: R;
        try {
          result = fn(...args);
          // A statement that failed inside, its error caught by the caller, aborted the transaction:
          // releasing would hide that until the outer COMMIT silently rolled everything back.
          if (this.client?.getTransactionStatus() === 'E') throw aborted();
        } catch (err) {
          this.depth--;
          const status = this.client?.getTransactionStatus();
          if (status === 'T' || status === 'E') this.simple(`ROLLBACK TO SAVEPOINT ${point}`);
          throw err;
        }
        this.depth--;
        this.simple(`RELEASE SAVEPOINT ${point}`);
        return result;
      }
      this.begin();
      this.depth = 1;
      let result: R;
      try {
        result = fn(...args);
        if (this.lost) throw new PgError('the connection to the database was lost inside a transaction', '08006');
      } catch (err) {
        this.depth = 0;
        this.lost = false;
        this.rollback();
        throw err;
      }
      this.depth = 0;
      this.commit();
      return result;
    };
    return Object.assign(run, { deferred: run, immediate: run, exclusive: run });
  }

  private begin(): void {
    if (this.readonly) {
      // A reader's transaction is one snapshot (the audit walk reads the chain and its head together).
      this.simple('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return;
    }
    const client = this.live();
    try {
      client.querySync(`BEGIN; SELECT ${WRITE_LOCK_SQL}`);
    } catch (err) {
      const mapped = this.failure(err);
      this.rollback();
      throw mapped;
    }
  }

  private commit(): void {
    // On SQLite a failed statement whose error the caller caught undoes only itself; on PostgreSQL it
    // aborts the whole transaction, and COMMIT then answers with a silent ROLLBACK. Say so instead.
    if (this.client?.getTransactionStatus() === 'E') {
      this.rollback();
      throw aborted();
    }
    this.simple('COMMIT');
  }

  private rollback(): void {
    const status = this.client?.getTransactionStatus();
    if (status === 'T' || status === 'E') {
      try {
        this.client!.querySync('ROLLBACK');
      } catch {
        /* nothing was committed; a lost connection is dropped by failure() on the next statement */
      }
    }
  }

  private simple(source: string): void {
    const client = this.live();
    try {
      client.querySync(source);
    } catch (err) {
      throw this.failure(err);
    }
  }

  /** Maps libpq's error to one with a SQLSTATE code; a lost connection is dropped (the next call reconnects). */
  private failure(err: unknown): Error {
    if (err instanceof PgError || err instanceof Unavailable || err instanceof InvalidInput) return err;
    const message = firstLine(err instanceof Error ? err.message : String(err)).replace(/^ERROR:\s+/, '');
    const fields = this.client?.pq.resultErrorFields();
    const state = fields?.sqlState;
    if (!state || state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03') {
      // No SQLSTATE: libpq's own error, the connection is gone. Outside a transaction the next call
      // reconnects; inside one, the transaction is lost with it.
      if (this.client) endClient(this.client);
      this.client = undefined;
      this.names.clear();
      if (this.depth > 0) this.lost = true;
      return new PgError(scrub(message), state ?? '08006');
    }
    return new PgError(message, state);
  }

  close(): this {
    if (this.open) {
      this.open = false;
      if (this.client) endClient(this.client);
      this.client = undefined;
    }
    return this;
  }
}

/**
 * Ends a connection, and keeps its object alive a while: libpq's addon closes its poll handle
 * asynchronously (uv_close) and frees it with the JavaScript object, so a connection collected before
 * the event loop finished the close would crash the process (`uv__finish_close` assertion, seen).
 */
const retired = new Set<NativeClient>();
export function endClient(client: NativeClient): void {
  try {
    client.end();
  } catch {
    /* already closed */
  }
  retired.add(client);
  setTimeout(() => retired.delete(client), 1000).unref();
}

/**
 * libpq's words without the database's host, address and port ("connection to server at "db.internal"
 * (10.0.0.5), port 5432 failed"): an answer to a client must not map the server's network.
 */
function scrub(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\(([0-9a-fA-F:.]+)\)/g, '(…)')
    .replace(/port \d+/g, 'port …');
}

function firstLine(message: string): string {
  return message.trim().split('\n')[0]!.trim();
}
