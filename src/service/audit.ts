import { createHash } from 'node:crypto';
import { insertAuditRow, iterateAudit, lastAuditRow, queryAudit, type AuditRow } from '../store/admin.js';
import { getMeta, setMeta } from '../store/meta.js';
import type { AuditEntry, AuditVerification } from '../views.js';
import type { ServiceContext } from './context.js';

// The support audit log (SPEC §9): append-only (triggers refuse UPDATE and DELETE) and hash-chained:
// each row's hash covers its fields and the previous row's hash, and the newest hash is also kept in
// meta, so an edited, removed or truncated row is found by `admin audit verify`.

const GENESIS = '0'.repeat(64);

export interface AuditRecord {
  actor: string;
  target: string | null;
  action: string;
  reason: string;
  outcome: 'ok' | 'refused';
  ip: string | null;
  detail?: Record<string, unknown>;
}

function rowHash(prev: string, r: Omit<AuditRow, 'id' | 'prev_hash' | 'hash'>): string {
  const canonical = JSON.stringify([r.at, r.actor, r.target, r.action, r.reason, r.outcome, r.ip, r.detail]);
  return createHash('sha256').update(prev).update('\n').update(canonical).digest('hex');
}

/** Appends one entry. Call inside the transaction of the change it records. */
export function appendAudit(ctx: ServiceContext, record: AuditRecord): void {
  const prev = lastAuditRow(ctx.db)?.hash ?? GENESIS;
  const row = {
    at: ctx.now(),
    actor: record.actor,
    target: record.target,
    action: record.action,
    reason: record.reason,
    outcome: record.outcome,
    ip: record.ip,
    detail: record.detail ? JSON.stringify(record.detail) : null,
  };
  const hash = rowHash(prev, row);
  insertAuditRow(ctx.db, { ...row, prev_hash: prev, hash });
  setMeta(ctx.db, 'audit_head', hash);
}

export function listAudit(ctx: ServiceContext, filter: { target?: string; actor?: string; since?: number; limit: number }): AuditEntry[] {
  return queryAudit(ctx.db, filter).map((r) => ({
    time: new Date(r.at).toISOString(),
    actor: r.actor,
    target: r.target,
    action: r.action,
    reason: r.reason,
    outcome: r.outcome,
  }));
}

/** Walks the chain from the first row; the first row that does not fit is named. */
export function verifyAudit(ctx: ServiceContext): AuditVerification {
  let prev = GENESIS;
  let count = 0;
  let lastId = 0;
  for (const r of iterateAudit(ctx.db)) {
    if (r.prev_hash !== prev) {
      return { intact: false, rows: count, firstBadRow: r.id, problem: `row ${r.id} does not follow row ${lastId || 'zero'}: a row before it was removed or changed` };
    }
    if (rowHash(prev, r) !== r.hash) return { intact: false, rows: count, firstBadRow: r.id, problem: `row ${r.id} was changed after it was written` };
    prev = r.hash;
    lastId = r.id;
    count++;
  }
  const head = getMeta(ctx.db, 'audit_head');
  if ((head ?? GENESIS) !== prev) {
    return { intact: false, rows: count, firstBadRow: lastId + 1, problem: `the newest rows after row ${lastId} were removed` };
  }
  return { intact: true, rows: count, firstBadRow: null, problem: null };
}
