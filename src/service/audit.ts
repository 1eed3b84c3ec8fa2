import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { InvalidInput, Unavailable } from '../errors.js';
import {
  auditTriggers,
  findAuditRow,
  insertAuditRow,
  iterateAudit,
  lastAuditRow,
  queryAudit,
  type AuditRow,
} from '../store/admin.js';
import { countAccounts } from '../store/accounts.js';
import { deleteMeta, getMeta, setMeta } from '../store/meta.js';
import { fileIdentity, isPostgres, locationOf, type Db } from '../store/db.js';
import { openReader } from '../store/reader.js';
import type { AuditEntry, AuditHead, AuditVerification } from '../views.js';
import type { ServiceContext } from './context.js';
import { auditChainKey } from './encryption.js';

// The support audit log (SPEC §9, issue #15 §5): append-only (triggers refuse UPDATE and DELETE) and
// chained with HMAC-SHA-256 under a key derived from the at-rest key, which the database never holds:
// each row's MAC covers its sequence number, its fields and the previous row's MAC, and a sealed copy of
// the newest (SEQ:MAC) is kept in meta. Someone who can write the database but not read the key file
// can neither edit, remove nor re-chain rows unseen. Only a kept head (`admin audit head`, copied off
// the machine) also catches a whole database rolled back to an older copy.

const GENESIS = '0'.repeat(64);
/** Rows written before migration 009: plain SHA-256, checked as before, sealed by the upgrade row. */
const LEGACY = 'sha256';
const HMAC = 'hmac-sha256';
const UPGRADED = 'audit.chain-upgraded';
const HMAC_MIGRATION = 9;
const HEAD_SEAL = 'audit_head_seal';
/** Where the SHA-256 chain kept its newest hash; read once, by the upgrade. */
const LEGACY_HEAD = 'audit_head';
const MAC_TEXT = /^[0-9a-f]{64}$/;

/** The append-only triggers as 006_admin.sql created them: a missing or altered one is reported. */
const SQLITE_TRIGGERS: Record<string, string> = {
  audit_log_no_update:
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  audit_log_no_delete:
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
};

export interface AuditRecord {
  actor: string;
  target: string | null;
  action: string;
  reason: string;
  outcome: 'ok' | 'refused';
  ip: string | null;
  detail?: Record<string, unknown>;
}

type Fields = Omit<AuditRow, 'id' | 'prev_hash' | 'hash' | 'chain'>;

function legacyHash(prev: string, r: Fields): string {
  const canonical = JSON.stringify([r.at, r.actor, r.target, r.action, r.reason, r.outcome, r.ip, r.detail]);
  return createHash('sha256').update(prev).update('\n').update(canonical).digest('hex');
}

/** The sequence number is covered: a row moved to another id no longer fits. */
function rowMac(key: Uint8Array, id: number, prev: string, r: Fields): string {
  const canonical = JSON.stringify([id, r.at, r.actor, r.target, r.action, r.reason, r.outcome, r.ip, r.detail]);
  return createHmac('sha256', key).update(`${HMAC}\n${prev}\n`).update(canonical).digest('hex');
}

/** What meta keeps for the head: computing it needs the key, so a truncated log cannot be given a new one. */
function headSeal(key: Uint8Array, head: string): string {
  return createHmac('sha256', key).update('acctsec audit head v1\n').update(head).digest('hex');
}

/** Constant-time, so a MAC cannot be learnt a byte at a time from how long a comparison takes. */
function sameMac(expected: string, actual: string | undefined): boolean {
  if (actual === undefined || !MAC_TEXT.test(actual)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(actual, 'hex'));
}

function writeRow(ctx: ServiceContext, key: Buffer, last: AuditRow | undefined, fields: Fields): void {
  const id = (last?.id ?? 0) + 1;
  const prev = last?.hash ?? GENESIS;
  const hash = rowMac(key, id, prev, fields);
  insertAuditRow(ctx.db, { id, ...fields, prev_hash: prev, hash, chain: HMAC });
  setMeta(ctx.db, HEAD_SEAL, headSeal(key, `${id}:${hash}`));
}

const EMPTY_HEAD = `0:${GENESIS}`;

/**
 * The head of a log with no row yet, sealed when the first account is made (and by migration 009 for
 * an older database with an empty log): a log emptied later, its stored head deleted with it, is then
 * told from one that never had a row (issue #15 review: dropping the trigger, deleting every row and
 * the head, and putting the trigger back, verified as intact).
 */
export function sealEmptyAuditLog(ctx: ServiceContext): void {
  if (lastAuditRow(ctx.db) || getMeta(ctx.db, HEAD_SEAL) !== undefined) return;
  setMeta(ctx.db, HEAD_SEAL, headSeal(auditChainKey(ctx.db, ctx.keyring), EMPTY_HEAD));
}

/** Appends one entry. Call inside the transaction of the change it records. */
export function appendAudit(ctx: ServiceContext, record: AuditRecord): void {
  appendAuditRows(ctx, [record]);
}

/**
 * Appends entries in order, each chained to the one before, with the key derived and the head sealed
 * once for all of them (bulk work: a 500,000-row log is built in seconds, not half a minute). Call
 * inside the transaction of the change they record.
 */
export function appendAuditRows(ctx: ServiceContext, records: Iterable<AuditRecord>): void {
  const key = auditChainKey(ctx.db, ctx.keyring);
  let last = lastAuditRow(ctx.db);
  for (const record of records) {
    const fields: Fields = {
      at: ctx.now(),
      actor: record.actor,
      target: record.target,
      action: record.action,
      reason: record.reason,
      outcome: record.outcome,
      ip: record.ip,
      detail: record.detail ? JSON.stringify(record.detail) : null,
    };
    const id = (last?.id ?? 0) + 1;
    const prev = last?.hash ?? GENESIS;
    last = { id, ...fields, prev_hash: prev, hash: rowMac(key, id, prev, fields), chain: HMAC };
    insertAuditRow(ctx.db, last);
  }
  if (last) setMeta(ctx.db, HEAD_SEAL, headSeal(key, `${last.id}:${last.hash}`));
}

/**
 * Migration 009's keyed step, in the migration's transaction: one HMAC row whose MAC covers the newest
 * SHA-256 row, so the old rows cannot be rewritten from then on either. Done only while migrating, never
 * later: a log found all in the old format afterwards was rewritten, and sealing it then would vouch for
 * the forgery. Without the key the upgrade fails (and nothing changes) rather than leave the log unsealed.
 */
export function sealOldAuditRows(ctx: ServiceContext, applied: readonly number[]): void {
  if (!applied.includes(HMAC_MIGRATION)) return;
  const last = lastAuditRow(ctx.db);
  if (!last) {
    if (countAccounts(ctx.db) > 0) sealEmptyAuditLog(ctx);
    return;
  }
  const oldHead = getMeta(ctx.db, LEGACY_HEAD);
  writeRow(ctx, auditChainKey(ctx.db, ctx.keyring), last, {
    at: ctx.now(),
    actor: 'acctsec',
    target: null,
    action: UPGRADED,
    reason: 'database upgrade: the rows before this one are sealed under the at-rest key',
    outcome: 'ok',
    ip: null,
    detail: JSON.stringify({
      sealedThrough: last.id,
      oldHead: oldHead === undefined ? 'missing' : oldHead === last.hash ? 'matched' : 'mismatched',
    }),
  });
  deleteMeta(ctx.db, LEGACY_HEAD);
}

export function listAudit(
  ctx: ServiceContext,
  filter: { target?: string; actor?: string; since?: number; limit: number },
): AuditEntry[] {
  return queryAudit(ctx.db, filter).map((r) => ({
    time: new Date(r.at).toISOString(),
    actor: r.actor,
    target: r.target,
    action: r.action,
    reason: r.reason,
    outcome: r.outcome,
  }));
}

export interface KeptHead {
  seq: number;
  mac: string;
}

/** `--head SEQ:MAC` as `admin audit head` prints it. */
export function parseAuditHead(text: string): KeptHead {
  const m = /^(\d{1,15}):([0-9a-fA-F]{64})$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) {
    throw new InvalidInput(
      `invalid --head "${text}": use SEQ:MAC as \`acctsec admin audit head\` prints it (a row number, a colon, 64 hex digits)`,
      '--head',
    );
  }
  return { seq: Number(m[1]), mac: m[2]!.toLowerCase() };
}

/**
 * PostgreSQL's: as auditTriggers reads them (definition, enabled state O, the function's body). TRUNCATE
 * skips row triggers there, so a statement trigger refuses it too.
 */
const PG_BODY = "O BEGIN RAISE EXCEPTION 'the audit log is append-only'; END";
const PG_TRIGGERS: Record<string, string> = {
  audit_log_no_update: `CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only() ${PG_BODY}`,
  audit_log_no_delete: `CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only() ${PG_BODY}`,
  audit_log_no_truncate: `CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only() ${PG_BODY}`,
};

function triggerProblems(db: Db): { missing: string[]; problems: string[] } {
  const found = auditTriggers(db);
  const TRIGGERS = isPostgres(db) ? PG_TRIGGERS : SQLITE_TRIGGERS;
  const normal = (s: string) => s.replace(/\s+/g, ' ').replace(/;\s*$/, '').trim();
  const missing = Object.keys(TRIGGERS).filter(
    (name) => !found.has(name) || normal(found.get(name)!) !== normal(TRIGGERS[name]!),
  );
  return {
    missing,
    problems: missing.map(
      (name) =>
        `the append-only trigger ${name} is ${found.has(name) ? 'altered' : 'missing'}: rows can be changed or removed through SQL`,
    ),
  };
}

interface Walk {
  rows: number;
  newest: AuditRow | undefined;
  sawHmac: boolean;
  /** The walk stopped at a row that does not fit: nothing after it was checked. */
  broken: boolean;
  firstBadRow: number | null;
  problems: string[];
}

/** Walks the chain from the first row and stops at the first row that does not fit. */
function walkChain(db: Db, key: Uint8Array): Walk {
  const walk: Walk = { rows: 0, newest: undefined, sawHmac: false, broken: false, firstBadRow: null, problems: [] };
  let prev = GENESIS;
  for (const r of iterateAudit(db)) {
    const problem = rowProblem(key, r, prev, walk);
    if (problem) {
      walk.broken = true;
      walk.firstBadRow = r.id;
      walk.problems.push(problem);
      return walk;
    }
    if (
      r.action === UPGRADED &&
      r.chain === HMAC &&
      (JSON.parse(r.detail ?? '{}') as { oldHead?: string }).oldHead !== 'matched'
    ) {
      walk.firstBadRow ??= r.id;
      walk.problems.push(
        `when the database was upgraded (row ${r.id}), the old chain's stored head did not match its newest row: rows had been removed before the upgrade`,
      );
    }
    if (r.chain === HMAC) walk.sawHmac = true;
    prev = r.hash;
    walk.newest = r;
    walk.rows++;
  }
  return walk;
}

function rowProblem(key: Uint8Array, r: AuditRow, prev: string, walk: Walk): string | null {
  const after = walk.newest?.id;
  if (r.prev_hash !== prev)
    return `row ${r.id} does not follow row ${after ?? 'zero'}: a row before it was removed or changed`;
  if (r.chain === LEGACY) {
    if (walk.sawHmac) return `row ${r.id} is in the old SHA-256 format after the HMAC chain began: it was rewritten`;
    return legacyHash(prev, r) === r.hash ? null : `row ${r.id} was changed after it was written`;
  }
  if (r.chain !== HMAC) return `row ${r.id} names an unknown chain "${r.chain}"`;
  if (!sameMac(rowMac(key, r.id, prev, r), r.hash)) return `row ${r.id} was changed after it was written`;
  // Only the upgrade may follow an old row: its MAC, which needs the key, vouches for the rows before it.
  if (after !== undefined && !walk.sawHmac && r.action !== UPGRADED)
    return `row ${r.id} follows old SHA-256 rows without the upgrade's seal: rows were rewritten in the old format`;
  return null;
}

/**
 * The chain, the sealed head and the triggers; with `kept` (a head copied off the machine earlier),
 * also that its row is still there with the same MAC, which proves nothing at or before it changed.
 */
export function verifyAudit(ctx: ServiceContext, kept?: KeptHead): AuditVerification {
  return verifyAuditChain(ctx.db, auditChainKey(ctx.db, ctx.keyring), kept);
}

/**
 * verifyAudit over a connection and the chain's key alone: what the audit worker (audit-worker.ts) runs
 * on its own read-only connection, in one read transaction.
 */
export function verifyAuditChain(db: Db, key: Uint8Array, kept?: KeptHead): AuditVerification {
  const walk = walkChain(db, key);
  const problems = walk.problems;
  const { newest } = walk;
  if (!walk.broken) {
    if (newest && !walk.sawHmac) {
      walk.firstBadRow ??= 1;
      problems.push(
        `none of the ${walk.rows} rows is under the HMAC chain: they were rewritten in the old SHA-256 format, or the database was upgraded without its key`,
      );
    }
    const seal = getMeta(db, HEAD_SEAL);
    if (newest && walk.sawHmac && !sameMac(headSeal(key, `${newest.id}:${newest.hash}`), seal)) {
      walk.firstBadRow ??= newest.id + 1;
      problems.push(
        `the stored head does not match the newest row ${newest.id}: the newest rows after row ${newest.id} were removed, or the head was changed`,
      );
    }
    if (!newest && seal !== undefined && !sameMac(headSeal(key, EMPTY_HEAD), seal)) {
      walk.firstBadRow ??= 1;
      problems.push('the log is empty but its stored head is not: every row was removed');
    }
    if (!newest && seal === undefined && countAccounts(db) > 0) {
      walk.firstBadRow ??= 1;
      problems.push('the log and its stored head are both gone: every row was removed, and the head with them');
    }
  }
  if (kept) {
    const row = findAuditRow(db, kept.seq);
    if (!row)
      problems.push(
        `row ${kept.seq} of the kept head is gone: rows at or before the kept head were removed (or the database is an older copy)`,
      );
    else if (row.chain !== HMAC || !sameMac(kept.mac, row.hash))
      problems.push(`row ${kept.seq} does not match the kept head: it, or a row before it, was changed or re-chained`);
    if (problems.length > 0) walk.firstBadRow ??= kept.seq;
  }
  const triggers = triggerProblems(db);
  problems.push(...triggers.problems);
  return {
    intact: problems.length === 0,
    rows: walk.rows,
    firstBadRow: walk.firstBadRow,
    problem: problems[0] ?? null,
    problems,
    missingTriggers: triggers.missing,
    head: newest && walk.sawHmac ? `${newest.id}:${newest.hash}` : null,
    keptHead: kept ? `${kept.seq}:${kept.mac}` : null,
  };
}

/**
 * `admin audit verify` and `admin audit head` (issue #19 §3): the walk is an HMAC per row, CPU work that
 * took 3.3 s for 500,000 rows, so it runs in a worker thread (audit-worker.ts) on a read-only connection
 * of its own (WAL lets it read beside the server's writer), in one read transaction: the same snapshot
 * the walk on the main thread read, while the server's event loop keeps answering. A worker rather than
 * chunks with setImmediate between them: chunks would still put the HMACs on the event loop (each chunk
 * a stall of its own, and the whole walk's CPU taken from the requests), and a walk cut into chunks
 * reads a log that may grow between them. The chain's key, not the at-rest key, is handed over by
 * postMessage, its memory transferred (gone from this thread) and zeroed by the worker once used; never
 * in workerData, the environment, argv or a message that is logged. An in-memory database (tests), or a
 * run from the TypeScript sources where the bundle's worker file does not exist, walks on this thread.
 */
export async function verifyAuditInWorker(ctx: ServiceContext, kept?: KeptHead): Promise<AuditVerification> {
  const file = new URL('./audit-worker.js', import.meta.url);
  if (ctx.db.memory || !existsSync(file)) return verifyAudit(ctx, kept);
  // PostgreSQL: pg-native's addon (libpq, built on nan) cannot be loaded in a worker thread once the
  // main thread has loaded it ("Module did not self-register"), so the walk runs here, blocking this
  // process while it runs: on a read-only connection of its own, in one REPEATABLE READ snapshot, which
  // takes no lock (the writers' lock would hold off every instance's writes for the whole walk).
  // Being synchronous, that walk needs no slot: nothing else runs in this process meanwhile.
  if (isPostgres(ctx.db)) {
    const derived = auditChainKey(ctx.db, ctx.keyring);
    const reader = openReader(locationOf(ctx.db));
    try {
      return reader.transaction(() => verifyAuditChain(reader, new Uint8Array(derived), kept))();
    } finally {
      derived.fill(0);
      reader.close();
    }
  }
  return withAuditSlot(() => walkInWorker(ctx, file, kept));
}

/**
 * At most AUDIT_WORKERS walks at once, AUDIT_WAITING more in line; past that "busy" (exit 8, 503): each
 * walk takes a core and a connection, and admins asking at once must not take every core from the
 * requests (issue #19 review).
 */
async function withAuditSlot<T>(walk: () => Promise<T>): Promise<T> {
  if (auditRunning >= AUDIT_WORKERS) {
    if (auditWaiting.length >= AUDIT_WAITING)
      throw new Unavailable(
        `${auditRunning} audit log verifications are running and ${auditWaiting.length} waiting: try again in a moment`,
        'audit_busy',
      );
    await new Promise<void>((resolve) => auditWaiting.push(resolve));
  }
  auditRunning++;
  try {
    return await walk();
  } finally {
    auditRunning--;
    auditWaiting.shift()?.();
  }
}

/** Audit walks in worker threads at once, per process, and how many may wait for one to end. */
export const AUDIT_WORKERS = 2;
export const AUDIT_WAITING = 8;
let auditRunning = 0;
const auditWaiting: (() => void)[] = [];

async function walkInWorker(ctx: ServiceContext, file: URL, kept?: KeptHead): Promise<AuditVerification> {
  const derived = auditChainKey(ctx.db, ctx.keyring);
  const key = new Uint8Array(derived);
  derived.fill(0);
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(file, { stdout: false, stderr: false });
  try {
    return await new Promise<AuditVerification>((resolve, reject) => {
      worker.once('message', (answer: AuditWorkerAnswer) => {
        if ('verification' in answer) resolve(answer.verification);
        else if (answer.error.unavailable !== undefined)
          reject(new Unavailable(answer.error.message, answer.error.unavailable));
        else reject(Object.assign(new Error(answer.error.message), { code: answer.error.code }));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the audit worker ended (exit ${code}) before answering`)));
      // The worker opens the file by its path: it is told the file this connection has open, and
      // refuses to walk another one (a file swapped in at the path meanwhile).
      const opened = fileIdentity(ctx.db);
      const request: AuditWorkerRequest = {
        dbPath: locationOf(ctx.db),
        key,
        ...(opened ? { file: opened } : {}),
        ...(kept ? { kept } : {}),
      };
      worker.postMessage(request, [key.buffer]);
    });
  } finally {
    void worker.terminate();
  }
}

export interface AuditWorkerRequest {
  dbPath: string;
  /** Device and inode of the file the server has open: the worker's connection must be to the same. */
  file?: { dev: number; ino: number };
  /** The chain's MAC key (HKDF of the at-rest key), transferred: the sender's copy is detached. */
  key: Uint8Array;
  kept?: KeptHead;
}

export type AuditWorkerAnswer =
  { verification: AuditVerification } | { error: { message: string; code: string | undefined; unavailable?: string } };

/** The newest SEQ:MAC, to be copied off the machine; with the verification, so a broken log's head is not passed on as good. */
export async function auditHeadInWorker(ctx: ServiceContext): Promise<AuditHead> {
  return headOf(ctx, await verifyAuditInWorker(ctx));
}

/** The newest SEQ:MAC, to be copied off the machine; with the verification, so a broken log's head is not passed on as good. */
export function auditHead(ctx: ServiceContext): AuditHead {
  return headOf(ctx, verifyAudit(ctx));
}

/** The head's row is the one the verification ended at, not the newest now: a row may have come since. */
function headOf(ctx: ServiceContext, v: AuditVerification): AuditHead {
  const newest = v.head ? findAuditRow(ctx.db, Number(v.head.slice(0, v.head.indexOf(':')))) : undefined;
  return {
    head: v.head,
    seq: newest?.id ?? null,
    time: newest ? new Date(newest.at).toISOString() : null,
    intact: v.intact,
    problem: v.problem,
  };
}
