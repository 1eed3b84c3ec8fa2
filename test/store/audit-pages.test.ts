import { describe, expect, it } from 'vitest';
import { appendAuditRows, verifyAudit } from '../../src/service/audit.js';
import { iterateAudit } from '../../src/store/admin.js';
import { testContext } from '../service/context.js';

// The audit walk reads the log in pages (helper-40's review of PostgreSQL: one statement read every row
// at once, hundreds of MiB for half a million rows, and passed its statement timeout on millions).

const record = (i: number) => ({
  actor: 'root',
  target: `u${i}`,
  action: 'lock',
  reason: `reason ${i}`,
  outcome: 'ok' as const,
  ip: null,
});

describe('the audit walk in pages', () => {
  it('walks every row once, in order, across page boundaries, and the chain verifies', () => {
    const ctx = testContext();
    appendAuditRows(
      ctx,
      Array.from({ length: 11 }, (_, i) => record(i)),
    );
    for (const size of [1, 2, 5, 10, 11, 12, 2000]) {
      const ids = [...iterateAudit(ctx.db, size)].map((r) => r.id);
      expect(ids, `page of ${size}`).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    }
    expect(verifyAudit(ctx)).toMatchObject({ intact: true, rows: 11 });
  });

  it('a row slipped in below the first id is walked too, and breaks the chain', () => {
    const ctx = testContext();
    appendAuditRows(
      ctx,
      Array.from({ length: 3 }, (_, i) => record(i)),
    );
    ctx.db
      .prepare(
        "INSERT INTO audit_log (id, at, actor, target, action, reason, outcome, ip, detail, prev_hash, hash) VALUES (0, 1, 'x', NULL, 'lock', 'forged', 'ok', NULL, NULL, 'x', 'x')",
      )
      .run();
    expect([...iterateAudit(ctx.db, 2)].map((r) => r.id)).toEqual([0, 1, 2, 3]);
    expect(verifyAudit(ctx)).toMatchObject({ intact: false, firstBadRow: 0 });
  });
});
