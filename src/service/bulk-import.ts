import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AcctsecError, Conflict, InvalidInput, NotFound } from '../errors.js';
import { findAccountByUsername, insertAccount, type AccountRow, type Role } from '../store/accounts.js';
import { insertResetToken, voidResetTokens } from '../store/admin.js';
import { newSecret } from '../token-format.js';
import { IMPORT_MAIL_BATCH_ROWS } from '../schemas.js';
import type { AdminImportBatch, ImportBatchResult, InvalidImportRow, UserExport } from '../views.js';
import { validEmail, validUsername } from './accounts.js';
import { recordActivity } from './activity.js';
import {
  accountsInPages,
  authorize,
  deliverResetToken,
  hashReset,
  NO_PASSWORD,
  roleFilter,
  ROLES,
  validReason,
} from './admin.js';
import { appendAuditRows, type AuditRecord } from './audit.js';
import type { RequestOrigin, ServiceContext } from './context.js';
import type { Auth } from './sessions.js';

// Bulk import and export of accounts (issue #19 §4). An import arrives in batches (a CLI run reads its
// file and sends up to 1,000 rows at a time, locally or to `serve`); each batch is one transaction:
// all its new accounts, their reset tokens, their activity entries and their audit rows, or none.
// New accounts get no password hash (the 0.41 s of argon2 per `admin users create` run is what made
// 100,000 accounts take hours): like `admin users create`, they hold NO_PASSWORD until the owner sets
// one with the single-use reset token, and sign-in against them costs one hash like any other.

/**
 * How long an imported account's reset token works. Longer than a support reset's hour: mailing
 * 100,000 tokens at IMPORT_MAIL_PER_SECOND takes over half an hour, and owners of a migrated
 * directory claim their accounts over days, not minutes.
 */
export const IMPORT_TOKEN_MS = 7 * 24 * 60 * 60_000;
/**
 * Mailed tokens go out one at a time, at most this many a second: an import of 100,000 accounts never
 * opens 100,000 SMTP connections at once, nor floods the relay (documented in the command's help).
 */
export const IMPORT_MAIL_PER_SECOND = 50;
/** When the next import mail of this process may go out (performance.now() time). */
let nextMailSlot = 0;

interface ValidRow {
  line: number;
  username: string;
  email: string;
  role: Role;
}

function judgeRow(row: AdminImportBatch['rows'][number]): ValidRow | InvalidImportRow {
  try {
    const username = validUsername(row.username);
    const email = validEmail(row.email);
    const roleText = (row.role ?? '').trim() || 'user';
    const role = roleText.toLowerCase() as Role;
    if (!ROLES.includes(role))
      return { line: row.line, value: roleText, reason: `invalid role "${roleText}": use user, support or admin` };
    return { line: row.line, username, email, role };
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    const value = err.field === 'email' ? row.email : row.username;
    return { line: row.line, value, reason: err.message };
  }
}

/**
 * One batch of `admin users import`. Admins only (an import can make admins). Existing usernames are
 * reported and left untouched, so running the same file again creates nothing twice. An invalid row
 * refuses the whole batch (nothing written) unless `skipInvalid`. A dry run judges the rows and looks
 * the names up, and writes nothing.
 */
export async function importUsers(
  ctx: ServiceContext,
  auth: Auth,
  input: AdminImportBatch,
  origin: RequestOrigin,
): Promise<ImportBatchResult> {
  const reason = validReason(input.reason);
  authorize(ctx, auth, 'users.import', null, reason, origin);
  const valid: ValidRow[] = [];
  const invalid: InvalidImportRow[] = [];
  for (const row of input.rows) {
    const judged = judgeRow(row);
    if ('reason' in judged) invalid.push(judged);
    else valid.push(judged);
  }
  if (invalid.length > 0 && !input.skipInvalid && !input.dryRun) {
    const first = invalid[0]!;
    throw new InvalidInput(
      `line ${first.line}: ${first.reason}; nothing in this batch was imported (--skip-invalid imports the valid rows)`,
      'rows',
    );
  }
  if (!input.dryRun && !input.returnTokens && input.rows.length > IMPORT_MAIL_BATCH_ROWS)
    throw new InvalidInput(
      `a batch whose tokens are mailed has at most ${IMPORT_MAIL_BATCH_ROWS} rows (${input.rows.length} given): it is mailed within its request, at ${IMPORT_MAIL_PER_SECOND} a second`,
      'rows',
    );
  if (input.dryRun) {
    const seen = new Set<string>();
    const existing: string[] = [];
    let created = 0;
    for (const r of valid) {
      if (seen.has(r.username) || findAccountByUsername(ctx.db, r.username)) existing.push(r.username);
      else created++;
      seen.add(r.username);
    }
    return { dryRun: true, created, existing, invalid };
  }

  const actor = auth.account.username;
  const ip = origin.ip ?? null;
  const expiresAt = ctx.now() + IMPORT_TOKEN_MS;
  const issued: { account: AccountRow; token: string }[] = [];
  let importId = '';
  const existing = ctx.db
    .transaction(() => {
      const now = ctx.now();
      importId = importRun(ctx, auth, input.importId, now);
      const already: string[] = [];
      const audit: AuditRecord[] = [];
      for (const r of valid) {
        if (findAccountByUsername(ctx.db, r.username)) {
          already.push(r.username);
          continue;
        }
        const id = insertAccount(ctx.db, {
          username: r.username,
          email: r.email,
          role: r.role,
          passwordHash: NO_PASSWORD,
          now,
        });
        const token = newSecret('reset');
        insertResetToken(ctx.db, id, hashReset(token), now, expiresAt);
        recordActivity(ctx, id, 'account.created', {
          origin,
          detail: { role: r.role, by: actor, import: importId },
        });
        audit.push({
          actor,
          target: r.username,
          action: 'users.create',
          reason,
          outcome: 'ok',
          ip,
          detail: { import: importId, line: r.line, role: r.role },
        });
        issued.push({
          account: {
            id,
            username: r.username,
            email: r.email,
            role: r.role,
            password_hash: NO_PASSWORD,
            password_changed_at: now,
            created_at: now,
            email_verified_at: null, // issue #20 §3: imported addresses are unproven
            locked_at: null,
          },
          token,
        });
      }
      const run = ctx.db
        .prepare(
          'UPDATE imports SET created = created + ?, batches = batches + 1, finished_at = ? WHERE id = ? RETURNING created, batches',
        )
        .get(issued.length, input.finish ? now : null, importId) as { created: number; batches: number };
      if (input.finish) audit.push(summaryRecord(actor, reason, ip, input, importId, run));
      appendAuditRows(ctx, audit);
      return already;
    })
    .immediate();

  const result: ImportBatchResult = { dryRun: false, importId, created: issued.length, existing, invalid };
  if (input.returnTokens) {
    return {
      ...result,
      tokens: issued.map((i) => ({ username: i.account.username, token: i.token })),
      tokensExpireAt: new Date(expiresAt).toISOString(),
    };
  }
  return { ...result, ...(await mailTokens(ctx, actor, issued, expiresAt, origin)) };
}

/**
 * The run a batch belongs to: a new one (its id issued here) when the batch names none, else the one it
 * names, which must be this admin's and not yet finished: ids are not the client's to choose, nor
 * another run's to borrow, and a run's summary is written once.
 */
function importRun(ctx: ServiceContext, auth: Auth, given: string | undefined, now: number): string {
  if (given === undefined) {
    const id = `imp_${randomBytes(12).toString('base64url')}`;
    ctx.db.prepare('INSERT INTO imports (id, actor_id, started_at) VALUES (?, ?, ?)').run(id, auth.account.id, now);
    return id;
  }
  const run = ctx.db.prepare('SELECT actor_id, finished_at FROM imports WHERE id = ?').get(given) as
    { actor_id: number; finished_at: number | null } | undefined;
  if (!run || run.actor_id !== auth.account.id)
    throw new NotFound(`no import "${given}" of yours: a run's first batch names none, and its answer gives the id`);
  if (run.finished_at !== null)
    throw new Conflict(`the import "${given}" is finished: a new run (with --from-line to resume) starts a new one`);
  return given;
}

/** The one audit row of a whole import: how many accounts it created, from the run's own count. */
function summaryRecord(
  actor: string,
  reason: string,
  ip: string | null,
  input: AdminImportBatch,
  importId: string,
  run: { created: number; batches: number },
): AuditRecord {
  const f = input.finish!;
  return {
    actor,
    target: null,
    action: 'users.import',
    reason,
    outcome: 'ok',
    ip,
    detail: {
      import: importId,
      created: run.created,
      existing: f.existing,
      invalid: f.invalid,
      file: f.file,
      fromLine: f.fromLine,
      lines: f.lines,
      batches: run.batches,
      tokens: input.returnTokens ? 'returned to the operator' : 'mailed',
    },
  };
}

/**
 * Mails each new account its token through the ordinary mail path, one at a time, paced to
 * IMPORT_MAIL_PER_SECOND. A mail that fails does not undo the batch (the accounts stand, as after
 * `admin users create`): its token is voided (nobody holds it), which the owner's activity and the
 * audit log record, and the account is reported so the operator can hand one over with
 * `admin reset-password`.
 */
async function mailTokens(
  ctx: ServiceContext,
  actor: string,
  issued: { account: AccountRow; token: string }[],
  expiresAt: number,
  origin: RequestOrigin,
): Promise<{ mailed: number; undelivered: string[] }> {
  const undelivered: AccountRow[] = [];
  let sent = 0;
  for (const { account, token } of issued) {
    // One pace for the whole process: two imports at once share the 50 a second (issue #19 review).
    const due = Math.max(performance.now(), nextMailSlot);
    nextMailSlot = due + 1000 / IMPORT_MAIL_PER_SECOND;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    try {
      await deliverResetToken(ctx, account, token, expiresAt, true);
      sent++;
    } catch (err) {
      if (!(err instanceof AcctsecError) || err.slug !== 'mail_failed') throw err;
      undelivered.push(account);
    }
  }
  if (undelivered.length > 0) {
    ctx.db
      .transaction(() => {
        for (const account of undelivered) {
          voidResetTokens(ctx.db, account.id, ctx.now());
          recordActivity(ctx, account.id, 'password.reset_mail_failed', { origin, detail: { by: actor } });
        }
        appendAuditRows(
          ctx,
          undelivered.map((account) => ({
            actor,
            target: account.username,
            action: 'reset-token.undelivered',
            reason: 'the mail server refused or could not be reached',
            outcome: 'ok',
            ip: origin.ip ?? null,
            detail: { after: 'users.import', tokenVoided: true },
          })),
        );
      })
      .immediate();
  }
  return { mailed: sent, undelivered: undelivered.map((a) => a.username) };
}

/**
 * `admin users export`: every account as the export writes it, streamed in pages (memory stays flat at
 * 100,000 accounts; no cursor held while a slow client reads). Admins only: it is the whole directory.
 */
export async function* exportUsers(
  ctx: ServiceContext,
  auth: Auth,
  role: string | undefined,
  origin: RequestOrigin,
): AsyncGenerator<UserExport> {
  const only = roleFilter(role);
  authorize(ctx, auth, 'users.export', null, '', origin);
  // The second factors proper: recovery codes come with them and are not a method of their own.
  const methods = ctx.factors.filter((f) => f.enrolment !== null);
  for await (const a of accountsInPages(ctx, only, EXPORT_PAGE)) {
    yield {
      username: a.username,
      email: a.email,
      role: a.role,
      createdAt: new Date(a.created_at).toISOString(),
      locked: a.locked_at !== null,
      mfa: methods.filter((m) => m.isActive(ctx, a)).map((m) => m.id),
    };
  }
}

const EXPORT_PAGE = 1000;
