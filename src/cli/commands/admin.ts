import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { AcctsecError, InvalidInput } from '../../errors.js';
import type { AdminResult } from '../../views.js';
import type { Factory } from '../factory.js';
import { addBulkCommands } from './admin-bulk.js';
import { addEmailAndOrgCommands } from './admin-orgs.js';
import { addAppCommands } from './admin-apps.js';
import { addMigrateStoreCommand } from './admin-migrate.js';
import { localTime, table } from '../format.js';

interface ActionFlags {
  reason?: string;
  dryRun?: boolean;
  printToken?: boolean;
}

function limitArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000)
    throw new InvalidArgumentError(`"${value}" is not a number from 1 to 10000`);
  return n;
}

/** Every change: --reason (audited), --dry-run, and a confirmation or --yes. */
function actionOptions(cmd: Command, destructive = true): Command {
  cmd.option('--reason <text>', 'why: required, recorded in the audit log');
  if (destructive) cmd.option('--dry-run', 'print what would change and change nothing');
  return cmd;
}

export function newCmdAdmin(f: Factory): Command {
  const cmd = new Command('admin').description(
    'support staff: other accounts, resets, locks and the audit log (roles support and admin)',
  );
  const users = cmd.command('users').description('accounts');
  users
    .command('list')
    .description('every account (streamed)')
    .addOption(new Option('--role <role>', 'only this role').choices(['user', 'support', 'admin']))
    .action((o: { role?: string }) => adminUsersListRun({ f, role: o.role }));
  users
    .command('show')
    .description('what `status` shows, for another account (no secrets)')
    .argument('<user>')
    .action((user: string) => adminUsersShowRun({ f, user }));
  actionOptions(
    users
      .command('create')
      .description('create an account; its owner sets the password with a reset token (emailed, or --print-token)')
      .argument('<user>')
      .requiredOption('--email <address>', "the owner's address")
      .addOption(
        new Option('--role <role>', "the new account's role").choices(['user', 'support', 'admin']).default('user'),
      )
      .option('--print-token', 'print the reset token for a hand-over you verified, instead of emailing it'),
    false,
  ).action((user: string, o: ActionFlags & { email: string; role: string }) =>
    adminRun(f, `create ${user}`, o, (b) =>
      b.adminCreateUser({
        username: user,
        email: o.email,
        role: o.role,
        reason: o.reason ?? '',
        printToken: Boolean(o.printToken),
      }),
    ),
  );
  addBulkCommands(users, f);
  addEmailAndOrgCommands(cmd, users, f, adminRun); // issue #20 §3 and §5
  addAppCommands(cmd, f); // issue #21
  addMigrateStoreCommand(cmd, f); // issue #22
  actionOptions(
    users
      .command('set-role')
      .description("change an account's role (admins only)")
      .argument('<user>')
      .addArgument(new Argument('<role>', 'the new role').choices(['user', 'support', 'admin'])),
  ).action((user: string, role: string, o: ActionFlags) =>
    adminRun(f, `make ${user} ${role}`, o, (b) =>
      b.adminSetRole(user, role, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  actionOptions(
    cmd
      .command('reset-password')
      .description('a single-use reset token (1 hour) for the owner; support never sees a password')
      .argument('<user>')
      .option('--print-token', 'print the token for a hand-over you verified, instead of emailing it'),
  ).action((user: string, o: ActionFlags) =>
    adminRun(f, `reset the password of ${user}`, o, (b) =>
      b.adminResetPassword(user, {
        reason: o.reason ?? '',
        dryRun: Boolean(o.dryRun),
        printToken: Boolean(o.printToken),
      }),
    ),
  );
  actionOptions(
    cmd
      .command('reset-mfa')
      .description('remove every second factor and recovery code; sign out every session')
      .argument('<user>'),
  ).action((user: string, o: ActionFlags) =>
    adminRun(f, `remove every second factor of ${user}`, o, (b) =>
      b.adminResetMfa(user, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  actionOptions(
    cmd.command('lock').description('refuse sign-in and tokens; sign out every session').argument('<user>'),
  ).action((user: string, o: ActionFlags) =>
    adminRun(f, `lock ${user}`, o, (b) =>
      b.adminLock(user, true, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  actionOptions(cmd.command('unlock').description('allow sign-in and tokens again').argument('<user>')).action(
    (user: string, o: ActionFlags) =>
      adminRun(f, `unlock ${user}`, o, (b) =>
        b.adminLock(user, false, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
      ),
  );
  actionOptions(
    cmd
      .command('unthrottle')
      .description('clear every failed-attempt throttle of an account (sign-in, second factor, confirmation, recovery)')
      .argument('<user>'),
  ).action((user: string, o: ActionFlags) =>
    adminRun(f, `clear the throttles of ${user}`, o, (b) =>
      b.adminUnthrottle(user, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  actionOptions(
    cmd
      .command('sessions')
      .description("another account's sessions")
      .command('revoke')
      .description('sign out every session of an account')
      .argument('<user>'),
  ).action((user: string, o: ActionFlags) =>
    adminRun(f, `sign out every session of ${user}`, o, (b) =>
      b.adminRevokeSessions(user, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  const ip = cmd
    .command('ip')
    .description("another account's IP allow-list: see it, or lift it when it locks its owner out");
  ip.command('show')
    .description("the account's IP allow-list (what `ip list` shows its owner)")
    .argument('<user>')
    .action((user: string) => adminIpShowRun({ f, user }));
  actionOptions(
    ip
      .command('clear')
      .description('remove every entry: sign-in and tokens work from any address again (owner notified)')
      .argument('<user>'),
  ).action((user: string, o: ActionFlags) =>
    adminRun(f, `clear the IP allow-list of ${user}`, o, (b) =>
      b.adminIpClear(user, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  const audit = cmd
    .command('audit')
    .description('the audit log, newest first (admins only)')
    .option('--user <user>', 'entries about this account')
    .option('--actor <user>', 'entries by this staff member')
    .option('--since <date>', 'YYYY-MM-DD or an ISO 8601 time')
    .option('--limit <n>', 'how many (1-10000)', limitArg, 50)
    .action((o: { user?: string; actor?: string; since?: string; limit: number }) => adminAuditRun({ f, ...o }));
  audit
    .command('verify')
    .description(
      'check the HMAC chain, the stored head and the append-only triggers: exit 0 when all hold, 1 naming what does not',
    )
    .option(
      '--head <SEQ:MAC>',
      'a head kept from `admin audit head`: also prove nothing at or before it was removed or changed',
    )
    .action((o: { head?: string }) => adminAuditVerifyRun({ f, head: o.head }));
  audit
    .command('head')
    .description(
      "print the newest row's SEQ:MAC, to keep off this machine (mail it daily) and check later with verify --head",
    )
    .action(() => adminAuditHeadRun({ f }));
  return cmd;
}

export async function adminRun(
  f: Factory,
  what: string,
  o: ActionFlags,
  call: (b: Awaited<ReturnType<Factory['backend']>>) => Promise<AdminResult>,
): Promise<void> {
  if (!o.reason?.trim())
    throw new InvalidInput('every admin action needs --reason "why" (recorded in the audit log)', '--reason');
  const backend = await f.backend();
  if (!o.dryRun && !f.globals.yes) {
    if (!f.prompter.interactive)
      throw new InvalidInput(`confirm with --yes to ${what} (or --dry-run to see what would change)`, '--yes');
    if (!(await f.prompter.confirm(`${what[0]!.toUpperCase()}${what.slice(1)}?`, '--yes', false))) {
      f.io.note('Nothing changed.');
      return;
    }
  }
  const result = await call(backend);
  for (const w of result.warnings ?? []) f.io.warn(w);
  if (f.globals.json) {
    f.io.json(result);
    return;
  }
  f.io.out(
    `${result.dryRun ? 'Would' : 'Done:'} ${result.action} ${result.target}${result.dryRun ? ' (dry run: nothing changed):' : ':'}`,
  );
  for (const c of result.changes) f.io.out(`  - ${c}`);
  if (result.resetToken) {
    f.io.out(`Reset token for ${result.target} (shown once; valid until ${localTime(result.resetTokenExpiresAt!)}):`);
    f.io.out(`  ${result.resetToken}`);
    f.io.out(`The owner runs: acctsec recover --username ${result.target} --token <token>`);
  }
}

export async function adminUsersListRun(opts: { f: Factory; role?: string | undefined }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  let first = true;
  if (f.globals.json) await f.io.stream('[');
  else await f.io.stream(`${'USERNAME'.padEnd(24)} ${'ROLE'.padEnd(8)} ${'LOCKED'.padEnd(7)} EMAIL`);
  for await (const u of backend.adminListUsers(opts.role)) {
    if (f.globals.json) await f.io.stream(`${first ? '' : ','}${JSON.stringify(u)}`);
    else
      await f.io.stream(
        `${u.username.padEnd(24)} ${u.role.padEnd(8)} ${(u.locked ? 'yes' : 'no').padEnd(7)} ${u.email}`,
      );
    first = false;
  }
  if (f.globals.json) await f.io.stream(']');
}

export async function adminUsersShowRun(opts: { f: Factory; user: string }): Promise<void> {
  const { f } = opts;
  const u = await (await f.backend()).adminShowUser(opts.user);
  if (f.globals.json) {
    f.io.json(u);
    return;
  }
  f.io.out(
    `${u.username} <${u.email}>${u.emailVerified ? '' : ' (unverified)'}  role ${u.role}${u.locked ? '  LOCKED' : ''}`,
  );
  f.io.out(`Password   changed ${localTime(u.passwordChangedAt)}`);
  f.io.out(
    `MFA        ${
      u.mfa.methods
        .filter((m) => m.enabled)
        .map((m) => m.type)
        .join(', ') || 'none'
    }${u.mfa.recoveryCodesLeft !== null ? `; ${u.mfa.recoveryCodesLeft} recovery codes left` : ''}`,
  );
  f.io.out(`IP         ${u.ipAllowList.map((e) => e.cidr).join(', ') || 'no restriction'}`);
  f.io.out(`Tokens     ${u.tokens.active} active${u.legacyApiKey ? '; a deprecated API key' : ''}`);
  f.io.out(
    `Recovery   ${u.recoveryEmails.map((r) => `${r.address}${r.verified ? '' : ' (unverified)'}`).join(', ') || 'no address'}`,
  );
  f.io.out(`Sessions   ${u.activeSessions} active`);
}

export async function adminIpShowRun(opts: { f: Factory; user: string }): Promise<void> {
  const { f } = opts;
  const entries = await (await f.backend()).adminIpShow(opts.user);
  if (f.globals.json) {
    f.io.json(entries);
    return;
  }
  if (entries.length === 0) {
    f.io.out(`${opts.user} has no IP restriction: every address is allowed.`);
    return;
  }
  f.io.out(
    table(
      entries.map((e) => [e.cidr, `IPv${e.family}`, localTime(e.addedAt)]),
      ['ENTRY', 'FAMILY', 'ADDED'],
    ),
  );
}

export async function adminAuditRun(opts: {
  f: Factory;
  user?: string | undefined;
  actor?: string | undefined;
  since?: string | undefined;
  limit: number;
}): Promise<void> {
  const { f } = opts;
  const entries = await (
    await f.backend()
  ).adminAudit({
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.actor ? { actor: opts.actor } : {}),
    ...(opts.since ? { since: opts.since } : {}),
    limit: opts.limit,
  });
  if (f.globals.json) {
    f.io.json(entries);
    return;
  }
  f.io.out(
    table(
      entries.map((e) => [localTime(e.time), e.actor, e.target ?? '-', e.action, e.outcome, e.reason]),
      ['TIME', 'ACTOR', 'TARGET', 'ACTION', 'OUTCOME', 'REASON'],
    ),
  );
}

export async function adminAuditVerifyRun(opts: { f: Factory; head?: string | undefined }): Promise<void> {
  const { f } = opts;
  // The service judges --head (exit 2 naming it), in both back ends alike.
  const v = await (await f.backend()).adminVerifyAudit(opts.head);
  if (f.globals.json) f.io.json(v);
  else if (v.intact) {
    const kept = v.keptHead
      ? `; nothing at or before the kept head (row ${v.keptHead.split(':')[0]}) was removed or changed`
      : '';
    f.io.out(`The audit log holds: ${v.rows} row${v.rows === 1 ? '' : 's'}, chain, head and triggers intact${kept}.`);
  } else for (const p of v.problems.slice(1)) f.io.note(`also: ${p}`);
  // Exit 1 (SPEC §1 "unexpected failure"): the log was changed behind the tool's back.
  if (!v.intact) throw new AcctsecError('audit_tampered', `the audit log was tampered with: ${v.problem}`, 1);
}

export async function adminAuditHeadRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const h = await (await f.backend()).adminAuditHead();
  // A head read from a log that does not verify is not one to keep as good.
  if (!h.intact) throw new AcctsecError('audit_tampered', `the audit log was tampered with: ${h.problem}`, 1);
  if (f.globals.json) f.io.json(h);
  else if (h.head) f.io.out(h.head);
  else f.io.note('The audit log is empty: no head yet.');
}
